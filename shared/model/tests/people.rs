//! The people use cases over the in-memory stores: users created once and validated, replaced
//! and deactivated, grouped by team; and each user's notifications, which only they can mark read.

mod support;

use crm_model::ids::{TenantId, UserId};
use crm_model::ports::NotificationInbox;
use crm_model::store::PageRequest;
use crm_model::user::service::{Member, PeopleError};
use crm_model::user::{Notification, Role};
use support::at;
use support::crm::{Crm, rid, user};

fn uid(id: &str) -> UserId {
    UserId::new(id).unwrap()
}

fn note(id: &str, to: &str, at_: &str) -> Notification {
    Notification {
        id: id.into(),
        user: uid(to),
        message: format!("Tin {id}"),
        record: Some(rid("c1")),
        at: at(at_),
        read: false,
    }
}

#[tokio::test]
async fn a_user_is_created_once_and_only_when_valid() {
    let crm = Crm::new().await;
    let people = crm.people();
    let t = &crm.w.tenant;
    let hoa = user("u-hoa", "Trịnh Hoa", Role::Salesperson, Some("Miền Bắc"));
    assert_eq!(people.create(t, hoa.clone()).await.unwrap(), hoa);
    let mut twin = hoa.clone();
    twin.name = "Người khác".into();
    let taken = people.create(t, twin).await;
    assert!(
        matches!(taken, Err(PeopleError::UserExists(ref id)) if *id == hoa.id),
        "{taken:?}"
    );
    assert_eq!(people.get(t, &hoa.id).await.unwrap(), hoa);

    let mut invalid = user("u-bad", "", Role::Salesperson, None);
    invalid.email = "x".into();
    invalid.phone = Some("không có".into());
    let refused = people.create(t, invalid).await;
    let Err(PeopleError::Invalid(problems)) = refused else {
        panic!("expected problems, got {refused:?}");
    };
    for path in ["/name", "/email", "/phone"] {
        assert!(problems.has(path), "no problem at {path}: {problems}");
    }
    assert!(matches!(
        people.get(t, &uid("u-bad")).await,
        Err(PeopleError::UserNotFound)
    ));
}

#[tokio::test]
async fn a_user_is_replaced_only_if_they_exist_and_a_deactivated_user_stays_listed() {
    let crm = Crm::new().await;
    let people = crm.people();
    let t = &crm.w.tenant;
    let mut sales = people.get(t, &uid("u-sales")).await.unwrap();
    sales.active = false;
    sales.team = Some("Miền Nam".into());
    assert_eq!(people.replace(t, sales.clone()).await.unwrap(), sales);
    assert_eq!(people.get(t, &sales.id).await.unwrap(), sales);

    let mut blank = sales.clone();
    blank.email = "not-an-email".into();
    let refused = people.replace(t, blank).await;
    assert!(
        matches!(refused, Err(PeopleError::Invalid(ref p)) if p.has("/email")),
        "{refused:?}"
    );
    assert_eq!(people.get(t, &sales.id).await.unwrap(), sales, "unchanged");

    let ghost = user("u-ghost", "Ma", Role::Salesperson, None);
    let missing = people.replace(t, ghost).await;
    assert!(
        matches!(missing, Err(PeopleError::UserNotFound)),
        "{missing:?}"
    );
    let listed = people.list(t, &PageRequest::first(10)).await.unwrap();
    let ids: Vec<&str> = listed.items.iter().map(|u| u.id.as_str()).collect();
    assert_eq!(ids, ["u-admin", "u-manager", "u-sales"]);
}

#[tokio::test]
async fn teams_group_every_user_by_team_with_those_in_no_team_first() {
    let crm = Crm::new().await;
    let people = crm.people();
    let t = &crm.w.tenant;
    let mut lan = user("u-lan", "Lan", Role::Salesperson, Some("Miền Nam"));
    lan.active = false;
    people.create(t, lan).await.unwrap();
    // More users than one page of the directory holds.
    for i in 0..120 {
        let id = format!("u-north-{i:03}");
        let north = user(&id, &id, Role::Salesperson, Some("Miền Bắc"));
        people.create(t, north).await.unwrap();
    }
    let teams = people.teams(t).await.unwrap();
    let names: Vec<Option<&str>> = teams.iter().map(|t| t.team.as_deref()).collect();
    assert_eq!(names, [None, Some("Miền Bắc"), Some("Miền Nam")]);
    let ids = |i: usize| -> Vec<&str> { teams[i].members.iter().map(|m| m.id.as_str()).collect() };
    assert_eq!(ids(0), ["u-admin", "u-manager"]);
    assert_eq!(ids(1).len(), 121);
    assert_eq!((ids(1)[0], ids(1)[120]), ("u-north-000", "u-sales"));
    assert_eq!(
        teams[2].members,
        [Member {
            id: uid("u-lan"),
            name: "Lan".into(),
            active: false
        }]
    );
}

#[tokio::test]
async fn notifications_come_newest_first_and_unread_ones_on_request() {
    let crm = Crm::new().await;
    let (people, t, inbox) = (crm.people(), &crm.w.tenant, &crm.w.stores.inbox);
    for (id, when) in [
        ("n1", "2027-01-01T01:00:00Z"),
        ("n2", "2027-01-03T01:00:00Z"),
        ("n3", "2027-01-02T01:00:00Z"),
    ] {
        inbox
            .deliver(t, &note(id, "u-manager", when))
            .await
            .unwrap();
    }
    inbox
        .deliver(t, &note("n9", "u-sales", "2027-01-04T01:00:00Z"))
        .await
        .unwrap();
    let manager = uid("u-manager");
    let page = PageRequest::first(10);
    let all = people
        .notifications(t, &manager, false, &page)
        .await
        .unwrap();
    let ids: Vec<&str> = all.items.iter().map(|n| n.id.as_str()).collect();
    assert_eq!(ids, ["n2", "n3", "n1"]);
    people
        .mark_read(t, &manager, &all.items[0].key())
        .await
        .unwrap();
    let unread = people
        .notifications(t, &manager, true, &page)
        .await
        .unwrap();
    let ids: Vec<&str> = unread.items.iter().map(|n| n.id.as_str()).collect();
    assert_eq!(ids, ["n3", "n1"]);
}

#[tokio::test]
async fn a_user_marks_only_their_own_notifications_read() {
    let crm = Crm::new().await;
    let (people, t) = (crm.people(), &crm.w.tenant);
    let theirs = note("handover-1", "u-manager", "2027-01-01T01:00:00Z");
    crm.w.stores.inbox.deliver(t, &theirs).await.unwrap();
    let key = theirs.key();
    let stranger = TenantId::new("stranger").unwrap();
    for (tenant, user, key) in [
        (t, "u-sales", key.as_str()),
        (&stranger, "u-manager", key.as_str()),
        (t, "u-manager", "not-a-key"),
    ] {
        let refused = people.mark_read(tenant, &uid(user), key).await;
        assert!(
            matches!(refused, Err(PeopleError::NotificationNotFound)),
            "{refused:?}"
        );
    }
    let manager = uid("u-manager");
    let page = PageRequest::first(10);
    assert_eq!(
        people
            .notifications(t, &manager, true, &page)
            .await
            .unwrap()
            .items
            .len(),
        1
    );
    let read = people.mark_read(t, &manager, &key).await.unwrap();
    assert!(read.read);
    assert!(
        people
            .notifications(t, &manager, true, &page)
            .await
            .unwrap()
            .items
            .is_empty()
    );
}
