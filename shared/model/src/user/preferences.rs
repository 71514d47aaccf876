//! Each user's layout of the customer page (seed 003 §2.3, §3.8): the fields the summary card
//! shows, and which related lists, in which order, with which columns. Kept with the user, read
//! by the records API's customer view.

use serde::{Deserialize, Serialize};

use crate::schema::{Module, Schema};
use crate::validation::Problems;

/// Most fields a summary card or a related list's columns name.
pub const MAX_LAYOUT_FIELDS: usize = 60;

/// A customer's related list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RelatedList {
    Contacts,
    Opportunities,
    Quotes,
    Orders,
    Invoices,
    Tasks,
    CareCards,
}

impl RelatedList {
    /// Every list, in the page's default order.
    pub const ALL: [RelatedList; 7] = [
        RelatedList::Contacts,
        RelatedList::Opportunities,
        RelatedList::Quotes,
        RelatedList::Orders,
        RelatedList::Invoices,
        RelatedList::Tasks,
        RelatedList::CareCards,
    ];

    pub fn module(self) -> Module {
        match self {
            RelatedList::Contacts => Module::Contact,
            RelatedList::Opportunities => Module::Opportunity,
            RelatedList::Quotes => Module::Quote,
            RelatedList::Orders => Module::Order,
            RelatedList::Invoices => Module::Invoice,
            RelatedList::Tasks => Module::Task,
            RelatedList::CareCards => Module::CareCard,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            RelatedList::Contacts => "contacts",
            RelatedList::Opportunities => "opportunities",
            RelatedList::Quotes => "quotes",
            RelatedList::Orders => "orders",
            RelatedList::Invoices => "invoices",
            RelatedList::Tasks => "tasks",
            RelatedList::CareCards => "care_cards",
        }
    }

    /// The columns a list shows until its user picks some.
    pub fn default_columns(self) -> Vec<String> {
        let names: &[&str] = match self {
            RelatedList::Contacts => &["Name", "JobTitle", "Phone", "Email"],
            RelatedList::Opportunities => &["Name", "Amount", "Stage", "ExpectedCloseDate"],
            RelatedList::Quotes => &["Code", "QuoteDate", "Amount"],
            RelatedList::Orders => &["Code", "OrderDate", "Amount", "Status"],
            RelatedList::Invoices => &["Code", "InvoiceDate", "Amount", "DueDate"],
            RelatedList::Tasks => &["Title", "DueAt", "Status", "Assignee"],
            RelatedList::CareCards => &["Title", "CareDate", "Status"],
        };
        names.iter().map(|n| (*n).to_owned()).collect()
    }
}

/// One related list as a user shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RelatedListLayout {
    pub list: RelatedList,
    /// Fields of the list's module, in the order the columns show them.
    pub columns: Vec<String>,
}

/// A user's customer page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CustomerPageLayout {
    /// The fields the summary card shows, in order; empty: every field.
    #[serde(default)]
    pub summary_fields: Vec<String>,
    /// The related lists shown, in order (a list left out is hidden).
    pub related: Vec<RelatedListLayout>,
}

impl Default for CustomerPageLayout {
    /// Every field on the card; every list, in the page's order, with its default columns.
    fn default() -> Self {
        Self {
            summary_fields: Vec::new(),
            related: RelatedList::ALL
                .into_iter()
                .map(|list| RelatedListLayout {
                    list,
                    columns: list.default_columns(),
                })
                .collect(),
        }
    }
}

fn check_fields(
    names: &[String],
    schema: &Schema,
    module: Module,
    path: &str,
    problems: &mut Problems,
) {
    if names.len() > MAX_LAYOUT_FIELDS {
        problems.push(path, format!("at most {MAX_LAYOUT_FIELDS} fields"));
        return;
    }
    for (i, name) in names.iter().enumerate() {
        if schema.module(module).field(name).is_none() {
            problems.push(
                format!("{path}/{i}"),
                format!("{module} has no field '{name}'"),
            );
        } else if names[..i].contains(name) {
            problems.push(format!("{path}/{i}"), format!("'{name}' is named twice"));
        }
    }
}

impl CustomerPageLayout {
    /// Every problem, against the tenant's schema (custom fields included).
    pub fn validate(&self, schema: &Schema) -> Problems {
        let mut problems = Problems::default();
        check_fields(
            &self.summary_fields,
            schema,
            Module::Customer,
            "/summary_fields",
            &mut problems,
        );
        if self.related.len() > RelatedList::ALL.len() {
            problems.push(
                "/related",
                format!("at most {} lists, each once", RelatedList::ALL.len()),
            );
            return problems;
        }
        for (i, list) in self.related.iter().enumerate() {
            if self.related[..i].iter().any(|l| l.list == list.list) {
                problems.push(
                    format!("/related/{i}/list"),
                    format!("'{}' is listed twice", list.list.name()),
                );
            }
            if list.columns.is_empty() {
                problems.push(format!("/related/{i}/columns"), "at least one column");
            }
            check_fields(
                &list.columns,
                schema,
                list.list.module(),
                &format!("/related/{i}/columns"),
                &mut problems,
            );
        }
        problems
    }

    /// The layout as it applies today: fields the tenant removed since are left out.
    pub fn applied(&self, schema: &Schema) -> Self {
        let known = |module: Module, names: &[String]| -> Vec<String> {
            names
                .iter()
                .filter(|n| schema.module(module).field(n).is_some())
                .cloned()
                .collect()
        };
        Self {
            summary_fields: known(Module::Customer, &self.summary_fields),
            related: self
                .related
                .iter()
                .map(|l| {
                    let columns = known(l.list.module(), &l.columns);
                    RelatedListLayout {
                        list: l.list,
                        // Every column the user chose is gone: the list's usual ones.
                        columns: if columns.is_empty() {
                            known(l.list.module(), &l.list.default_columns())
                        } else {
                            columns
                        },
                    }
                })
                .collect(),
        }
    }
}
