//! What the server knows about one served resource (a CRD version or a built-in kind).
//! Shared by storage, discovery, OpenAPI, tables, schema handling and server-side apply.

use serde_json::Value;

#[derive(Clone, Debug, PartialEq)]
pub struct ResourceType {
    /// Empty for the core group.
    pub group: String,
    pub version: String,
    pub kind: String,
    pub list_kind: String,
    pub plural: String,
    pub singular: String,
    pub namespaced: bool,
    pub short_names: Vec<String>,
    pub categories: Vec<String>,
    /// Verbs served (get, list, watch, create, update, patch, delete, deletecollection).
    pub verbs: Vec<String>,
    pub status_subresource: bool,
    /// The version's `openAPIV3Schema` (CRDs), or `None` for built-ins kept schemaless.
    pub schema: Option<Value>,
    /// The version's `additionalPrinterColumns` as written in the CRD.
    pub printer_columns: Vec<Value>,
    /// True for CRD-defined types (strategic merge patch is refused for them).
    pub custom: bool,
}

impl ResourceType {
    /// `v1` for core, `group/version` otherwise.
    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.clone()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }

    /// `plural.group` (e.g. `iamroles.iam.rolesmith.dev`), or the plural alone for core.
    pub fn group_resource(&self) -> String {
        if self.group.is_empty() {
            self.plural.clone()
        } else {
            format!("{}.{}", self.plural, self.group)
        }
    }
}
