//! AppProject enforcement, table-tested with the cases Argo CD's own tests pin down
//! (`TestAppProject_Is*Permitted`), plus Argo's refusal messages.

use windlass_entity_model::argocd::{
    AppProjectSpec, ApplicationDestination, ClusterResourceRestrictionItem, GroupKind,
};
use windlass_reconciler::project::{ProjectPolicy, default_project_spec};

fn sources(patterns: &[&str]) -> AppProjectSpec {
    AppProjectSpec {
        source_repos: Some(patterns.iter().map(|p| p.to_string()).collect()),
        ..Default::default()
    }
}

#[test]
fn source_repos() {
    let cases: &[(&[&str], &str, bool)] = &[
        (&["*"], "https://github.com/argoproj/test.git", true),
        (
            &["https://github.com/argoproj/test.git"],
            "https://github.com/argoproj/test.git",
            true,
        ),
        (
            &["https://github.com/argoproj/test"],
            "https://GitHub.com/argoproj/test.git",
            true,
        ),
        (
            &["ssh://git@GITHUB.com:argoproj/test"],
            "ssh://git@github.com:argoproj/test",
            true,
        ),
        (
            &["git@github.com:argoproj/*"],
            "git@github.com:argoproj/test.git",
            true,
        ),
        (
            &["git@github.com:argoproj/*"],
            "ssh://git@github.com/argoproj/test",
            true,
        ),
        (
            &["https://github.com/argoproj/*"],
            "https://github.com/argoproj/argoproj.git",
            true,
        ),
        (
            &[
                "https://github.com/test1/test.git",
                "https://github.com/test2/test.git",
            ],
            "https://github.com/test2/test.git",
            true,
        ),
        (
            &["https://github.com/argoproj/test1.git"],
            "https://github.com/argoproj/test2.git",
            false,
        ),
        (
            &["https://github.com/argoproj/*.git"],
            "https://github.com/argoproj1/test2.git",
            false,
        ),
        (
            &["https://github.com/argoproj/foo"],
            "https://github.com/argoproj/foo1",
            false,
        ),
        (
            &["https://gitlab.com/group/*"],
            "https://gitlab.com/group/repo/owner",
            false,
        ),
        (
            &["https://gitlab.com/group/*/*"],
            "https://gitlab.com/group/repo/owner",
            true,
        ),
        (
            &["https://gitlab.com/group/*/*/*"],
            "https://gitlab.com/group/sub-group/repo/owner",
            true,
        ),
        (
            &["https://gitlab.com/group/**"],
            "https://gitlab.com/group/sub-group/repo/owner",
            true,
        ),
        (&["file:///tmp/repos/*"], "file:///tmp/repos/apps", true),
        (&[], "https://github.com/argoproj/test.git", false),
        // Negations.
        (
            &["!https://github.com/argoproj/test.git"],
            "https://github.com/argoproj/test.git",
            false,
        ),
        (
            &["!ssh://git@GITHUB.com:argoproj/test"],
            "ssh://git@github.com:argoproj/test",
            false,
        ),
        (
            &["!https://github.com/argoproj/*"],
            "https://github.com/argoproj/argoproj.git",
            false,
        ),
        (
            &[
                "https://github.com/test1/test.git",
                "!https://github.com/test2/test.git",
            ],
            "https://github.com/test2/test.git",
            false,
        ),
        (
            &["!https://github.com/argoproj/foo*"],
            "https://github.com/argoproj/foo1",
            false,
        ),
        (
            &["!https://gitlab.com/group/**"],
            "https://gitlab.com/group/sub-group/repo/owner",
            false,
        ),
        (
            &["https://github.com/argoproj/test1.git", "*"],
            "https://github.com/argoproj/test2.git",
            true,
        ),
        (
            &["!https://github.com/argoproj/*.git", "*"],
            "https://github.com/argoproj1/test2.git",
            true,
        ),
        (
            &["*", "!https://github.com/evil/*"],
            "https://github.com/evil/repo",
            false,
        ),
        // A deny pattern that does not apply counts as a match, as in Argo.
        (
            &["!https://github.com/evil/*"],
            "https://github.com/good/repo",
            true,
        ),
    ];
    for (patterns, repo, want) in cases {
        let spec = sources(patterns);
        let got = ProjectPolicy::new("p", &spec).check_source(repo);
        assert_eq!(got.is_ok(), *want, "{patterns:?} vs {repo}: {got:?}");
    }
}

#[test]
fn source_refusal_message_is_argos() {
    let spec = sources(&["https://github.com/argoproj/*"]);
    assert_eq!(
        ProjectPolicy::new("team-a", &spec).check_source("https://github.com/other/Repo.git"),
        Err("application repo https://github.com/other/Repo.git is not permitted in project 'team-a'".to_owned())
    );
}

fn opt(s: &str) -> Option<&str> {
    (!s.is_empty()).then_some(s)
}

fn dest(server: &str, name: &str, namespace: &str) -> ApplicationDestination {
    let opt = |s: &str| (!s.is_empty()).then(|| s.to_owned());
    ApplicationDestination {
        server: opt(server),
        name: opt(name),
        namespace: Some(namespace.to_owned()),
        ..Default::default()
    }
}

#[test]
fn destinations() {
    const IN: &str = "https://kubernetes.default.svc";
    const EKS: &str = "https://eks-cluster-endpoint.ap-southeast-1.eks.amazonaws.com";
    // (project destinations, app server, app name, app namespace, permitted)
    let cases: Vec<(Vec<ApplicationDestination>, &str, &str, &str, bool)> = vec![
        (vec![dest(IN, "", "default")], IN, "", "default", true),
        (vec![dest(IN, "", "default")], IN, "", "kube-system", false),
        (
            vec![dest("https://my-cluster", "", "default")],
            IN,
            "",
            "default",
            false,
        ),
        (vec![dest(IN, "", "*")], IN, "", "kube-system", true),
        (
            vec![dest("https://*.default.svc", "", "default")],
            IN,
            "",
            "default",
            true,
        ),
        (
            vec![dest("https://team1-*", "", "default")],
            "https://test2-dev-cluster",
            "",
            "default",
            false,
        ),
        (vec![dest(IN, "", "test-*")], IN, "", "test-foo", true),
        (vec![dest(IN, "", "test-*")], IN, "", "test", false),
        (vec![dest("*", "", "*")], IN, "", "test", true),
        (vec![dest("", "test", "*")], "", "test", "test", true),
        (vec![dest("", "test2", "*")], "", "test", "test", false),
        (
            vec![dest("", "in-*", "team-?")],
            IN,
            "in-cluster",
            "team-a",
            true,
        ),
        (
            vec![
                dest(IN, "host-cluster", "!{kube-system,argocd}"),
                dest(EKS, "destination-cluster-01", "*"),
            ],
            EKS,
            "",
            "kube-system",
            true,
        ),
        (
            vec![dest(IN, "host-cluster", "!{kube-system,argocd}")],
            IN,
            "",
            "argocd",
            false,
        ),
        (
            vec![dest(IN, "host-cluster", "!{kube-system,argocd}")],
            IN,
            "",
            "apps",
            true,
        ),
        // Negations, as in Argo's TestAppProject_IsNegatedDestinationPermitted.
        (
            vec![dest(&format!("!{IN}"), "", "default")],
            IN,
            "",
            "default",
            false,
        ),
        (vec![dest(IN, "", "!default")], IN, "", "kube-system", true),
        (
            vec![dest("!https://my-cluster", "", "default")],
            IN,
            "",
            "default",
            true,
        ),
        (
            vec![dest(&format!("!{IN}"), "", "*")],
            IN,
            "",
            "kube-system",
            false,
        ),
        (
            vec![dest("!https://*.default.svc", "", "default")],
            IN,
            "",
            "default",
            false,
        ),
        (
            vec![dest("!https://team1-*", "", "default")],
            "https://test2-dev-cluster",
            "",
            "default",
            true,
        ),
        (vec![dest(IN, "", "!test-*")], IN, "", "test-foo", false),
        (vec![dest(IN, "", "!test-*")], IN, "", "test", true),
        (vec![dest("", "!test", "*")], "", "test", "test", false),
        (vec![dest("", "!test2", "*")], "", "test", "test", true),
        (
            vec![dest("*", "", "kube-system"), dest("*", "", "!kube-system")],
            IN,
            "",
            "kube-system",
            false,
        ),
        (
            vec![dest("*", "", "*"), dest("*", "", "!kube-system")],
            IN,
            "",
            "kube-system",
            false,
        ),
        (
            vec![dest(IN, "", "*"), dest(&format!("!{IN}"), "", "*")],
            IN,
            "",
            "kube-system",
            false,
        ),
        (vec![], IN, "", "default", false),
    ];
    for (destinations, server, name, namespace, want) in cases {
        let spec = AppProjectSpec {
            destinations: Some(destinations.clone()),
            ..Default::default()
        };
        let got =
            ProjectPolicy::new("p", &spec).check_destination(opt(server), opt(name), namespace);
        assert_eq!(
            got.is_ok(),
            want,
            "{server}/{name}/{namespace} against {destinations:?}: {got:?}"
        );
    }
}

#[test]
fn destination_refusal_messages_are_argos() {
    let spec = AppProjectSpec {
        destinations: Some(vec![dest("https://kubernetes.default.svc", "", "team-a")]),
        ..Default::default()
    };
    let policy = ProjectPolicy::new("team-a", &spec);
    assert_eq!(
        policy.check_destination(Some("https://kubernetes.default.svc"), None, "kube-system"),
        Err("application destination server 'https://kubernetes.default.svc' and namespace 'kube-system' do not match any of the allowed destinations in project 'team-a'".to_owned())
    );
    assert_eq!(
        policy.check_destination(Some("https://kubernetes.default.svc"), Some("in-cluster"), "kube-system"),
        Err("application destination server 'in-cluster' and namespace 'kube-system' do not match any of the allowed destinations in project 'team-a'".to_owned())
    );
    assert_eq!(
        policy.check_namespace(Some("https://kubernetes.default.svc"), None, "kube-system"),
        Err("namespace kube-system is not permitted in project 'team-a'".to_owned())
    );
    assert_eq!(
        policy.check_namespace(Some("https://kubernetes.default.svc"), None, "team-a"),
        Ok(())
    );
}

fn gk(group: &str, kind: &str) -> GroupKind {
    GroupKind {
        group: group.into(),
        kind: kind.into(),
        ..Default::default()
    }
}

fn cluster_item(group: &str, kind: &str, name: Option<&str>) -> ClusterResourceRestrictionItem {
    ClusterResourceRestrictionItem {
        group: group.into(),
        kind: kind.into(),
        name: name.map(str::to_owned),
        ..Default::default()
    }
}

#[test]
fn resources() {
    // (spec, group, kind, name, namespaced, permitted) after Argo's TestAppProject_IsGroupKindPermitted.
    let empty_whitelist = AppProjectSpec {
        namespace_resource_whitelist: Some(vec![]),
        namespace_resource_blacklist: Some(vec![gk("apps", "Deployment")]),
        ..Default::default()
    };
    let whitelist = AppProjectSpec {
        namespace_resource_whitelist: Some(vec![gk("apps", "ReplicaSet")]),
        namespace_resource_blacklist: Some(vec![gk("apps", "Deployment")]),
        ..Default::default()
    };
    let cluster_blacklist_only = AppProjectSpec {
        cluster_resource_blacklist: Some(vec![cluster_item("", "Namespace", None)]),
        ..Default::default()
    };
    let all_and_none = AppProjectSpec {
        cluster_resource_whitelist: Some(vec![cluster_item("*", "*", None)]),
        cluster_resource_blacklist: Some(vec![cluster_item("*", "*", None)]),
        ..Default::default()
    };
    let named = AppProjectSpec {
        cluster_resource_whitelist: Some(vec![cluster_item("", "Namespace", Some("team1-*"))]),
        ..Default::default()
    };
    let globs = AppProjectSpec {
        cluster_resource_whitelist: Some(vec![cluster_item("*.k8s.io", "Cluster*", None)]),
        namespace_resource_blacklist: Some(vec![gk("", "Secret"), gk("*", "*Quota")]),
        ..Default::default()
    };
    let empty = AppProjectSpec::default();
    let default = default_project_spec();
    let cases: Vec<(&AppProjectSpec, &str, &str, &str, bool, bool)> = vec![
        (&empty_whitelist, "apps", "ReplicaSet", "", true, false),
        (&empty_whitelist, "apps", "Deployment", "", true, false),
        (&whitelist, "apps", "ReplicaSet", "", true, true),
        (&whitelist, "apps", "Action", "", true, false),
        (&cluster_blacklist_only, "", "Namespace", "", false, false),
        (&all_and_none, "", "Namespace", "", false, false),
        (&all_and_none, "apps", "Action", "", true, true),
        (&empty, "", "Namespace", "", false, false),
        (&empty, "apps", "Action", "", true, true),
        (&named, "", "Namespace", "other-namespace", false, false),
        (&named, "", "Namespace", "team1-namespace", false, true),
        (&named, "", "Namespace", "", false, false),
        (
            &globs,
            "rbac.authorization.k8s.io",
            "ClusterRole",
            "",
            false,
            true,
        ),
        (&globs, "rbac.authorization.k8s.io", "Role", "", true, true),
        (
            &globs,
            "apiextensions.k8s.io",
            "CustomResourceDefinition",
            "",
            false,
            false,
        ),
        (&globs, "", "Secret", "", true, false),
        (&globs, "", "ResourceQuota", "", true, false),
        (&globs, "", "ConfigMap", "", true, true),
        (&default, "", "Namespace", "", false, true),
        (&default, "apps", "Deployment", "", true, true),
    ];
    for (spec, group, kind, name, namespaced, want) in cases {
        let got = ProjectPolicy::new("p", spec).check_resource_named(group, kind, name, namespaced);
        assert_eq!(
            got.is_ok(),
            want,
            "{group}/{kind} {name:?} namespaced={namespaced}: {got:?}"
        );
    }
}

#[test]
fn resource_refusal_message_is_argos() {
    let spec = AppProjectSpec::default();
    let policy = ProjectPolicy::new("team-a", &spec);
    assert_eq!(
        policy.check_resource("rbac.authorization.k8s.io", "ClusterRole", false),
        Err(
            "resource rbac.authorization.k8s.io:ClusterRole is not permitted in project team-a"
                .to_owned()
        )
    );
    assert_eq!(
        policy.check_resource("", "Namespace", false),
        Err("resource :Namespace is not permitted in project team-a".to_owned())
    );
    assert_eq!(policy.check_resource("apps", "Deployment", true), Ok(()));
}

#[test]
fn the_default_project_allows_everything() {
    let spec = default_project_spec();
    let policy = ProjectPolicy::new("default", &spec);
    assert_eq!(policy.name(), "default");
    assert_eq!(
        policy.check_source("https://github.com/anyone/anything.git"),
        Ok(())
    );
    assert_eq!(policy.check_source("file:///tmp/repo"), Ok(()));
    assert_eq!(
        policy.check_destination(Some("https://10.0.0.1:6443"), None, "anything"),
        Ok(())
    );
    assert_eq!(
        policy.check_resource("apiextensions.k8s.io", "CustomResourceDefinition", false),
        Ok(())
    );
    assert_eq!(policy.check_resource("", "ConfigMap", true), Ok(()));
}
