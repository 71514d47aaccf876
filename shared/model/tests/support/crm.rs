//! The records side of the world: the tenant's salespeople, the records and people use cases over
//! the in-memory stores, and a clock that moves a minute with every record a test creates.

use chrono::Duration;
use crm_model::ids::{RecordId, UserId};
use crm_model::ports::{RecordStore, SettingsStore, StoredRecord, UserDirectory};
use crm_model::record::loyalty::{LoyaltyRule, Tier};
use crm_model::record::service::{Actor, Records};
use crm_model::schema::Module;
use crm_model::settings::TenantSettings;
use crm_model::store::Revisioned;
use crm_model::user::service::People;
use crm_model::user::{Role, User};
use serde_json::{Map, Value, json};

use super::World;
use super::clock::ManualClock;

/// A user of the tenant: id, name, role, team.
pub fn user(id: &str, name: &str, role: Role, team: Option<&str>) -> User {
    User {
        id: UserId::new(id).unwrap(),
        name: name.into(),
        email: format!("{id}@example.vn"),
        phone: None,
        team: team.map(str::to_owned),
        role,
        manager: None,
        active: true,
    }
}

/// The JSON object of a record's field values.
pub fn fields(value: Value) -> Map<String, Value> {
    value.as_object().expect("an object of fields").clone()
}

pub fn rid(id: &str) -> RecordId {
    RecordId::new(id).unwrap()
}

/// A tenant with an administrator (`u-admin`), a salesperson (`u-sales`, team Miền Bắc) and a
/// manager (`u-manager`, an administrator in no team), over the in-memory stores.
pub struct Crm {
    pub w: World,
    pub clock: ManualClock,
}

impl Crm {
    pub async fn new() -> Self {
        let w = World::new().await;
        for user in [
            user(
                "u-sales",
                "Nguyễn Văn Sáng",
                Role::Salesperson,
                Some("Miền Bắc"),
            ),
            user("u-manager", "Trần Thị Quyên", Role::Administrator, None),
        ] {
            w.stores.users.put(&w.tenant, &user).await.unwrap();
        }
        Crm {
            w,
            clock: ManualClock::at("2026-06-01T02:00:00Z"),
        }
    }

    pub fn records(&self) -> Records<'_> {
        Records {
            records: &self.w.stores.records,
            users: &self.w.stores.users,
            settings: &self.w.stores.settings,
            runs: &self.w.stores.runs,
            inbox: &self.w.stores.inbox,
            clock: &self.clock,
        }
    }

    /// The records use cases over another record store (one that fails, say).
    pub fn records_over<'a>(&'a self, records: &'a dyn RecordStore) -> Records<'a> {
        Records {
            records,
            ..self.records()
        }
    }

    pub fn people(&self) -> People<'_> {
        People {
            users: &self.w.stores.users,
            inbox: &self.w.stores.inbox,
        }
    }

    /// `user` acting with every permission tenant-wide: the use cases' mechanics, whatever
    /// the roles (the access levels have tests of their own).
    pub fn actor(&self, user: &str) -> Actor {
        Actor {
            tenant: self.w.tenant.clone(),
            user: UserId::new(user).unwrap(),
            role: crm_model::user::Role::Salesperson,
            access: crm_model::user::access::Access::everything(),
        }
    }

    /// The salesperson, who does most of the work.
    pub fn sales(&self) -> Actor {
        self.actor("u-sales")
    }

    /// Creates a record as the salesperson, a minute after the previous write.
    pub async fn create(&self, module: Module, id: &str, input: Value) -> Revisioned<StoredRecord> {
        self.clock.advance(Duration::minutes(1));
        self.records()
            .create(&self.sales(), module, rid(id), &fields(input))
            .await
            .unwrap_or_else(|e| panic!("creating {module} {id}: {e:?}"))
    }

    /// A record as stored now.
    pub async fn stored(&self, id: &str) -> Option<Revisioned<StoredRecord>> {
        self.w
            .stores
            .records
            .get(&self.w.tenant, &rid(id))
            .await
            .unwrap()
    }

    /// One field of a stored record (`Null` when it is empty).
    pub async fn field(&self, id: &str, name: &str) -> Value {
        let stored = self.stored(id).await.expect("the record exists");
        stored
            .value
            .fields
            .get(name)
            .cloned()
            .unwrap_or(Value::Null)
    }

    /// Changes the tenant's settings directly in the store.
    pub async fn tenant_settings(&self, change: impl FnOnce(&mut TenantSettings)) {
        let settings = &self.w.stores.settings;
        let mut current = settings.tenant_settings(&self.w.tenant).await.unwrap();
        change(&mut current.value);
        settings
            .put_tenant_settings(&self.w.tenant, &current.value, current.revision)
            .await
            .unwrap();
    }

    /// One point per 100,000 đ; Silver from 20 points, Gold from 50.
    pub async fn loyalty(&self) {
        self.tenant_settings(|s| {
            s.loyalty = Some(LoyaltyRule {
                amount_per_point: 100_000,
                tiers: vec![
                    Tier {
                        rank: "Silver".into(),
                        min_points: 20,
                    },
                    Tier {
                        rank: "Gold".into(),
                        min_points: 50,
                    },
                ],
            });
        })
        .await;
    }
}

/// An order line of tea.
pub fn lines(product: &str, quantity: f64, price: i64) -> Value {
    json!({"product": product, "category": "Trà", "quantity": quantity, "unit_price": price})
}

impl Crm {
    /// An order created from `customer`'s page by the salesperson.
    pub async fn order(&self, customer: &str, id: &str, input: Value) {
        self.records()
            .create_from_customer(
                &self.sales(),
                &rid(customer),
                Module::Order,
                rid(id),
                &fields(input),
            )
            .await
            .unwrap();
    }

    /// A quick edit of one field by the salesperson.
    pub async fn patch(&self, module: Module, id: &str, input: Value) {
        self.records()
            .patch(&self.sales(), module, &rid(id), &fields(input), None)
            .await
            .unwrap();
    }

    /// Lan (`c1`) with a contact, an open task, three tea orders, a care card and an opportunity;
    /// and Minh (`c2`) with an order of his own.
    pub async fn tea_customer(&self) {
        self.create(Module::Customer, "c1", json!({"Name": "Lan"}))
            .await;
        self.create(Module::Customer, "c2", json!({"Name": "Minh"}))
            .await;
        self.create(
            Module::Contact,
            "k1",
            json!({"Name": "Anh Tuấn", "Customer": "c1"}),
        )
        .await;
        self.create(
            Module::Task,
            "t1",
            json!({"Title": "Gọi chúc mừng", "Customer": "c1", "Status": "Open"}),
        )
        .await;
        for (id, date, l) in [
            (
                "o1",
                "2026-01-05",
                vec![lines("Trà Shan tuyết", 2.0, 300_000)],
            ),
            (
                "o2",
                "2026-02-07",
                vec![
                    lines("Trà Shan tuyết", 1.0, 300_000),
                    lines("Trà sen", 3.0, 150_000),
                ],
            ),
            ("o3", "2025-11-30", vec![lines("Trà sen", 10.0, 150_000)]),
        ] {
            self.order("c1", id, json!({"OrderDate": date, "Lines": l}))
                .await;
        }
        self.create(
            Module::CareCard,
            "cc1",
            json!({"Title": "Chăm sóc sau mua", "Customer": "c1", "Status": "Open"}),
        )
        .await;
        self.records()
            .create_from_customer(
                &self.sales(),
                &rid("c1"),
                Module::Opportunity,
                rid("p1"),
                &Default::default(),
            )
            .await
            .unwrap();
        self.order("c2", "o9", json!({"OrderDate": "2026-03-01", "Amount": 1}))
            .await;
    }
}
