//! The access decision: Git is the ceiling, rules only grant actions that are not
//! commits, and every decision names its reason.

use std::collections::BTreeMap;

use proptest::prelude::*;
use windlass_entity_model::windlass::{
    AccessAction, AccessAttributes, AccessRule, AccessRuleSpec, Team, TeamSpec,
};
use windlass_rbac::{
    ActionClass, EntityAttributes, GitPermission, Reason, Rules, Subject, class, decide,
};

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
    rule_any_of(name, teams, actions, attributes, None)
}

fn rule_any_of(
    name: &str,
    teams: &[&str],
    actions: &[AccessAction],
    attributes: AccessAttributes,
    any_of: Option<Vec<AccessAttributes>>,
) -> AccessRule {
    AccessRule::new(
        name,
        AccessRuleSpec {
            teams: Some(teams.iter().map(|t| t.to_string()).collect()),
            actions: Some(actions.to_vec()),
            attributes: Some(attributes),
            any_of,
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

#[test]
fn any_of_grants_when_attributes_and_one_of_its_sets_match() {
    let teams = [team("sre", &["alice"])];
    let rules = [rule_any_of(
        "sre-rolls-back-frontends",
        &["sre"],
        &[AccessAction::Rollback],
        AccessAttributes {
            labels: Some(BTreeMap::from([("tier".into(), "frontend".into())])),
            ..AccessAttributes::default()
        },
        Some(vec![
            AccessAttributes {
                runtimes: Some(vec!["staging".into()]),
                ..AccessAttributes::default()
            },
            AccessAttributes {
                clusters: Some(vec!["prod-eu-*".into()]),
                namespaces: Some(vec!["shop".into()]),
                ..AccessAttributes::default()
            },
        ]),
    )];
    let rules = Rules::new(&teams, &rules);
    let cases = [
        ("prod-eu-1/shop", prod_app()),
        (
            "prod-eu-1/payments",
            EntityAttributes {
                namespace: Some("payments".into()),
                ..prod_app()
            },
        ),
        (
            "staging",
            EntityAttributes {
                runtime: Some("staging".into()),
                cluster: Some("staging-1".into()),
                ..prod_app()
            },
        ),
        (
            "staging, not a frontend",
            EntityAttributes {
                runtime: Some("staging".into()),
                labels: BTreeMap::new(),
                ..prod_app()
            },
        ),
    ];
    let table: Vec<String> = cases
        .iter()
        .map(|(what, entity)| {
            let d = decide(
                &alice(),
                AccessAction::Rollback,
                entity,
                GitPermission::Read,
                &rules,
            );
            format!("{what}: {} — {}", d.allowed, d.reason)
        })
        .collect();
    insta::assert_snapshot!(table.join("\n"), @r#"
    prod-eu-1/shop: true — access rule "sre-rolls-back-frontends" grants it to team "sre" (its attributes and anyOf[1] match)
    prod-eu-1/payments: false — needs write permission on the Git repository holding the manifest (you have read), or an access rule granting it to one of your teams (sre)
    staging: true — access rule "sre-rolls-back-frontends" grants it to team "sre" (its attributes and anyOf[0] match)
    staging, not a frontend: false — needs write permission on the Git repository holding the manifest (you have read), or an access rule granting it to one of your teams (sre)
    "#);
}

fn arb_patterns() -> impl Strategy<Value = Option<Vec<String>>> {
    // Mostly unset, so that rules (and sets of anyOf) often match and grant.
    proptest::option::weighted(
        0.35,
        proptest::collection::vec(
            prop::sample::select(vec!["prod-*", "staging", "*", "shop", "a?ps", "[a-m]*"])
                .prop_map(String::from),
            1..3,
        ),
    )
}

fn arb_attributes() -> impl Strategy<Value = AccessAttributes> {
    (
        arb_patterns(),
        arb_patterns(),
        arb_patterns(),
        proptest::bool::weighted(0.3),
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
            // An empty anyOf (refused when loading) can match nothing.
            proptest::option::of(proptest::collection::vec(arb_attributes(), 0..4)),
        ),
        0..6,
    )
    .prop_map(|specs| {
        specs
            .into_iter()
            .enumerate()
            .map(|(i, (teams, actions, attrs, any_of))| {
                rule_any_of(&format!("r{i}"), &teams, &actions, attrs, any_of)
            })
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
    // Grants are a small share of random cases; more cases reach more of them.
    #![proptest_config(ProptestConfig::with_cases(1024))]

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
    #[test]
    fn removing_a_set_from_any_of_never_widens_access(
        rules in arb_rules(),
        entity in arb_entity(),
        git in arb_git(),
        action in prop::sample::select(ACTIONS.to_vec()),
    ) {
        let all = decide(&alice(), action, &entity, git, &Rules::new(&teams(), &rules));
        for (r, rule) in rules.iter().enumerate() {
            for skip in 0..rule.spec.any_of.as_ref().map_or(0, Vec::len) {
                let mut fewer = rules.clone();
                fewer[r].spec.any_of.as_mut().expect("sets").remove(skip);
                let d = decide(&alice(), action, &entity, git, &Rules::new(&teams(), &fewer));
                prop_assert!(!d.allowed || all.allowed, "without anyOf[{skip}] of r{r}: {}", d.reason);
            }
        }
    }

    #[test]
    fn a_grant_names_the_rule_and_the_set_that_matched(
        rules in arb_rules(),
        entity in arb_entity(),
        action in prop::sample::select(ACTIONS.to_vec()),
    ) {
        let d = decide(&alice(), action, &entity, GitPermission::Read, &Rules::new(&teams(), &rules));
        if let Reason::Rule { rule, any_of, .. } = &d.reason {
            let granting = rules.iter().find(|r| r.metadata.name.as_deref() == Some(rule.as_str())).expect("a rule of the set");
            prop_assert!(granting.spec.actions.iter().flatten().any(|a| *a == action || *a == AccessAction::All));
            match (any_of, &granting.spec.any_of) {
                (None, None) => {}
                (Some(i), Some(sets)) => {
                    // The named set alone, as the rule's only anyOf, still grants.
                    let mut only = granting.clone();
                    only.spec.any_of = Some(vec![sets[*i].clone()]);
                    let alone = decide(&alice(), action, &entity, GitPermission::Read, &Rules::new(&teams(), [&only]));
                    prop_assert!(alone.allowed, "anyOf[{i}] of {rule} alone: {}", alone.reason);
                    // No earlier set matches on its own.
                    for earlier in &sets[..*i] {
                        only.spec.any_of = Some(vec![earlier.clone()]);
                        let d = decide(&alice(), action, &entity, GitPermission::Read, &Rules::new(&teams(), [&only]));
                        prop_assert!(!d.allowed, "an earlier set of {rule} matches: {}", d.reason);
                    }
                }
                (named, sets) => prop_assert!(false, "reason names {named:?}, rule has {sets:?}"),
            }
        }
    }
}
