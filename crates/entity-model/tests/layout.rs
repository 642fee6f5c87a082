//! The example account in `examples/account` follows the config-repository layout:
//! every file sits exactly where `path_for` puts its entity.

use std::path::Path;

use windlass_entity_model::layout::{entity_key, entity_key_for, path_for};
use windlass_entity_model::load::load_path;

#[test]
fn example_account_files_are_where_the_layout_puts_them() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/account");
    let loaded = load_path(&root);
    assert!(loaded.is_ok(), "{:?}", loaded.errors);
    assert_eq!(loaded.manifests.len(), 8);
    for manifest in &loaded.manifests {
        let relative = manifest
            .location
            .file
            .strip_prefix(&root)
            .expect("under the account")
            .to_string_lossy()
            .replace('\\', "/");
        let path = path_for(&manifest.entity).expect("a config-repository kind");
        assert_eq!(path, relative);
        let key = entity_key_for(&relative).expect("a layout path");
        assert_eq!(key, entity_key(&manifest.entity).expect("a key"));
    }
}

#[test]
fn workloads_are_not_config_repository_entities() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/apps/guestbook-app.yaml");
    let loaded = load_path(&root);
    let err = path_for(&loaded.manifests[0].entity).expect_err("Applications live in Git sources");
    insta::assert_snapshot!(err.to_string(), @r#"Application "guestbook": this kind is not kept in the config repository (it lives in a Git source)"#);
}
