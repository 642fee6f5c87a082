//! The access decision: Git is the ceiling, rules only grant actions that are not
//! commits, and every decision names its reason.

use std::collections::BTreeMap;

use proptest::prelude::*;
use windlass_entity_model::windlass::{
    AccessAction, AccessAttributes, AccessRule, AccessRuleSpec, Team, TeamSpec,
};
use windlass_rbac::{ActionClass, EntityAttributes, GitPermission, Rules, Subject, class, decide};

const ACTIONS: [AccessAction; 19] = [
    AccessAction::All,
    AccessAction::View,
    AccessAction::Refresh,
    AccessAction::Sync,
    AccessAction::Terminate,
    AccessAction::Rollback,
    AccessAction::Promote,
    AccessAction::Abort,
    AccessAction::Retry,
    AccessAction::Pause,
    AccessAction::Resume,
    AccessAction::Resubmit,
    AccessAction::Stop,
    AccessAction::Restart,
    AccessAction::Logs,
    AccessAction::Exec,
    AccessAction::Commit,
    AccessAction::Delete,
    AccessAction::DeleteResource,
];

fn team(name: &str, members: &[&str]) -> Team {
    Team::new(
        name,
        TeamSpec {
            members: Some(members.iter().map(|m| m.to_string()).collect()),
            ..TeamSpec::default()
        },
    )
}

fn rule(
    name: &str,
    teams: &[&str],
    actions: &[AccessAction],
    attributes: AccessAttributes,
) -> AccessRule {
    AccessRule::new(
        name,
        AccessRuleSpec {
            teams: Some(teams.iter().map(|t| t.to_string()).collect()),
            actions: Some(actions.to_vec()),
            attributes: Some(attributes),
            ..AccessRuleSpec::default()
        },
    )
}

fn alice() -> Subject {
    Subject {
        user: "alice".into(),
        identities: vec!["alice".into(), "Alice@Example.com".into()],
    }
}

fn prod_app() -> EntityAttributes {
    EntityAttributes {
        kind: "Application".into(),
        name: "guestbook".into(),
        runtime: Some("prod-eu".into()),
        cluster: Some("prod-eu-1".into()),
        namespace: Some("shop".into()),
        application: Some("guestbook".into()),
        git_source: Some("apps".into()),
        labels: BTreeMap::from([("tier".into(), "frontend".into())]),
    }
}

#[test]
fn actions_that_are_not_commits_need_write_unless_a_rule_grants_them() {
    let teams = [team("sre", &["alice@example.com"]), team("dev", &["bob"])];
    let prod = AccessAttributes {
        runtimes: Some(vec!["prod-*".into()]),
        labels: Some(BTreeMap::from([("tier".into(), "frontend".into())])),
        ..AccessAttributes::default()
    };
    let rules = [
        rule(
            "sre-operates-prod",
            &["sre"],
            &[AccessAction::Sync, AccessAction::Terminate],
            prod.clone(),
        ),
        rule(
            "dev-logs",
            &["dev"],
            &[AccessAction::Logs],
            AccessAttributes::default(),
        ),
        rule(
            "dev-everything",
            &["dev"],
            &[AccessAction::All],
            AccessAttributes::default(),
        ),
    ];
    let rules = Rules::new(&teams, &rules);
    let app = prod_app();
    let mut table = String::new();
    for (action, git) in [
        (AccessAction::View, GitPermission::Read),
        (AccessAction::View, GitPermission::None),
        (AccessAction::Sync, GitPermission::Write),
        (AccessAction::Sync, GitPermission::Read),
        (AccessAction::Terminate, GitPermission::Read),
        (AccessAction::Logs, GitPermission::Read),
        (AccessAction::Sync, GitPermission::None),
        (AccessAction::Commit, GitPermission::Read),
        (AccessAction::Delete, GitPermission::Read),
        (AccessAction::Commit, GitPermission::Write),
    ] {
        let d = decide(&alice(), action, &app, git, &rules);
        table.push_str(&format!(
            "{:?} with {git}: {} — {}\n",
            action,
            if d.allowed { "allowed" } else { "denied" },
            d.reason
        ));
    }
    // Out of the rule's attributes (another runtime), alice's read is not enough.
    let staging = EntityAttributes {
        runtime: Some("staging".into()),
        ..prod_app()
    };
    let d = decide(
        &alice(),
        AccessAction::Sync,
        &staging,
        GitPermission::Read,
        &rules,
    );
    table.push_str(&format!(
        "Sync on staging with read: {} — {}\n",
        d.allowed, d.reason
    ));
    // `*` grants bob every action but a commit.
    let bob = Subject {
        user: "bob".into(),
        identities: vec!["bob".into()],
    };
    for action in [AccessAction::Exec, AccessAction::Commit] {
        let d = decide(&bob, action, &staging, GitPermission::Read, &rules);
        table.push_str(&format!(
            "bob {action:?} with read: {} — {}\n",
            d.allowed, d.reason
        ));
    }
    insta::assert_snapshot!(table);
}

fn arb_patterns() -> impl Strategy<Value = Option<Vec<String>>> {
    proptest::option::of(proptest::collection::vec(
        prop::sample::select(vec!["prod-*", "staging", "*", "shop", "a?ps", "[a-m]*"])
            .prop_map(String::from),
        1..3,
    ))
}

fn arb_attributes() -> impl Strategy<Value = AccessAttributes> {
    (
        arb_patterns(),
        arb_patterns(),
        arb_patterns(),
        proptest::bool::ANY,
    )
        .prop_map(
            |(runtimes, namespaces, git_sources, label)| AccessAttributes {
                runtimes,
                namespaces,
                git_sources,
                labels: label.then(|| BTreeMap::from([("tier".into(), "frontend".into())])),
                ..AccessAttributes::default()
            },
        )
}

fn arb_rules() -> impl Strategy<Value = Vec<AccessRule>> {
    proptest::collection::vec(
        (
            proptest::collection::vec(prop::sample::select(vec!["sre", "dev", "ops"]), 1..3),
            proptest::collection::vec(prop::sample::select(ACTIONS.to_vec()), 1..4),
            arb_attributes(),
        ),
        0..6,
    )
    .prop_map(|specs| {
        specs
            .into_iter()
            .enumerate()
            .map(|(i, (teams, actions, attrs))| rule(&format!("r{i}"), &teams, &actions, attrs))
            .collect()
    })
}

fn arb_entity() -> impl Strategy<Value = EntityAttributes> {
    (
        proptest::option::of(prop::sample::select(vec!["prod-eu", "staging", "apps"])),
        proptest::option::of(prop::sample::select(vec!["shop", "kube-system"])),
        proptest::bool::ANY,
    )
        .prop_map(|(runtime, namespace, frontend)| EntityAttributes {
            runtime: runtime.map(String::from),
            namespace: namespace.map(String::from),
            git_source: Some("apps".into()),
            labels: if frontend {
                BTreeMap::from([("tier".into(), "frontend".into())])
            } else {
                BTreeMap::new()
            },
            ..prod_app()
        })
}

fn arb_git() -> impl Strategy<Value = GitPermission> {
    prop::sample::select(vec![
        GitPermission::None,
        GitPermission::Read,
        GitPermission::Write,
    ])
}

fn teams() -> Vec<Team> {
    vec![
        team("sre", &["alice"]),
        team("dev", &["alice@example.com", "bob"]),
        team("ops", &["carol"]),
    ]
}

proptest! {
    #[test]
    fn no_rule_grants_what_git_refuses(
        rules in arb_rules(),
        entity in arb_entity(),
        git in arb_git(),
        action in prop::sample::select(ACTIONS.to_vec()),
    ) {
        let rules = Rules::new(&teams(), &rules);
        let d = decide(&alice(), action, &entity, git, &rules);
        if d.allowed {
            prop_assert!(git >= GitPermission::Read, "{action:?} allowed without read: {}", d.reason);
        }
        if class(action) == ActionClass::Commit {
            prop_assert_eq!(d.allowed, git == GitPermission::Write, "{}", d.reason);
        }
        if git == GitPermission::Write {
            prop_assert!(d.allowed, "a writer may do anything: {}", d.reason);
        }
    }

    #[test]
    fn removing_a_rule_never_widens_access(
        rules in arb_rules(),
        entity in arb_entity(),
        git in arb_git(),
        action in prop::sample::select(ACTIONS.to_vec()),
    ) {
        let all = decide(&alice(), action, &entity, git, &Rules::new(&teams(), &rules));
        for skip in 0..rules.len() {
            let fewer: Vec<_> = rules.iter().enumerate().filter(|(i, _)| *i != skip).map(|(_, r)| r.clone()).collect();
            let d = decide(&alice(), action, &entity, git, &Rules::new(&teams(), &fewer));
            prop_assert!(!d.allowed || all.allowed, "without rule {skip}: {}", d.reason);
        }
    }

    #[test]
    fn decisions_are_deterministic_whatever_order_the_rules_were_read_in(
        rules in arb_rules(),
        entity in arb_entity(),
        git in arb_git(),
        action in prop::sample::select(ACTIONS.to_vec()),
    ) {
        let once = decide(&alice(), action, &entity, git, &Rules::new(&teams(), &rules));
        let again = decide(&alice(), action, &entity, git, &Rules::new(&teams(), &rules));
        let reversed: Vec<_> = rules.iter().rev().cloned().collect();
        let mut teams_reversed = teams();
        teams_reversed.reverse();
        let shuffled = decide(&alice(), action, &entity, git, &Rules::new(&teams_reversed, &reversed));
        prop_assert_eq!(&once, &again);
        prop_assert_eq!(&once, &shuffled);
    }
}
