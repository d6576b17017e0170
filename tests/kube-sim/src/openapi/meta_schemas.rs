//! The `io.k8s.apimachinery.pkg.apis.meta.v1` definitions every group-version document references,
//! with the list/patch extensions kubectl's strategic merge and `kubectl explain` read from them.

use serde_json::{Map, Value, json};

pub const META: &str = "io.k8s.apimachinery.pkg.apis.meta.v1";

/// `#/components/schemas/<name>` for a meta definition such as `ObjectMeta`.
pub fn meta_ref(name: &str) -> String {
    format!("#/components/schemas/{META}.{name}")
}

/// A property pointing at a definition, in the OpenAPI v3 form kube-apiserver publishes (the `$ref`
/// wrapped in `allOf`, so the property can carry its own description and default).
pub fn ref_property(reference: &str, description: &str, default_empty: bool) -> Value {
    let mut p = json!({"allOf": [{"$ref": reference}], "description": description});
    if default_empty {
        p["default"] = json!({});
    }
    p
}

fn string(description: &str) -> Value {
    json!({"type": "string", "description": description, "default": ""})
}

fn int64(description: &str) -> Value {
    json!({"type": "integer", "format": "int64", "description": description})
}

fn string_map(description: &str) -> Value {
    json!({"type": "object", "description": description, "additionalProperties": {"type": "string", "default": ""}})
}

const API_VERSION_DESCRIPTION: &str = "APIVersion defines the versioned schema of this representation of an object. Servers should convert recognized schemas to the latest internal value, and may reject unrecognized values. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#resources";
const KIND_DESCRIPTION: &str = "Kind is a string value representing the REST resource this object represents. Servers may infer this from the endpoint the client submits requests to. Cannot be updated. In CamelCase. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#types-kinds";
pub const OBJECT_META_DESCRIPTION: &str = "Standard object's metadata. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata";
pub const LIST_META_DESCRIPTION: &str = "Standard list metadata. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#types-kinds";

pub fn api_version_property() -> Value {
    json!({"type": "string", "description": API_VERSION_DESCRIPTION})
}

pub fn kind_property() -> Value {
    json!({"type": "string", "description": KIND_DESCRIPTION})
}

/// The meta definitions, keyed by their full component name. `gv_kind` is the document's own
/// group/version, under which `DeleteOptions` is also registered.
pub fn meta_schemas(group: &str, version: &str) -> Map<String, Value> {
    let mut m = Map::new();
    let mut put = |name: &str, schema: Value| {
        m.insert(format!("{META}.{name}"), schema);
    };
    put(
        "Time",
        json!({"type": "string", "format": "date-time", "description": "Time is a wrapper around time.Time which supports correct marshaling to YAML and JSON.  Wrappers are provided for many of the factory methods that the time package offers."}),
    );
    put(
        "FieldsV1",
        json!({"type": "object", "description": "FieldsV1 stores a set of fields in a data structure like a Trie, in JSON format.\n\nEach key is either a '.' representing the field itself, and will always map to an empty set, or a string representing a sub-field or item. The string will follow one of these four formats: 'f:<name>', where <name> is the name of a field in a struct, or key in a map 'v:<value>', where <value> is the exact json formatted value of a list item 'i:<index>', where <index> is position of a item in a list 'k:<keys>', where <keys> is a map of  a list item's key fields to their unique values If a key maps to an empty Fields value, the field that key represents is part of the set.\n\nThe exact format is defined in sigs.k8s.io/structured-merge-diff"}),
    );
    put(
        "Patch",
        json!({"type": "object", "description": "Patch is provided to give a concrete name and type to the Kubernetes PATCH request body."}),
    );
    put("ObjectMeta", object_meta());
    put(
        "ListMeta",
        json!({
            "type": "object",
            "description": "ListMeta describes metadata that synthetic resources must have, including lists and various status objects. A resource may have only one of {ObjectMeta, ListMeta}.",
            "properties": {
                "continue": string("continue may be set if the user set a limit on the number of items returned, and indicates that the server has more data available. The value is opaque and may be used to issue another request to the endpoint that served this list to retrieve the next set of available objects."),
                "remainingItemCount": int64("remainingItemCount is the number of subsequent items in the list which are not included in this list response."),
                "resourceVersion": string("String that identifies the server's internal version of this object that can be used by clients to determine when objects have changed. Value must be treated as opaque by clients and passed unmodified back to the server. Populated by the system. Read-only. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#concurrency-control-and-consistency"),
                "selfLink": string("Deprecated: selfLink is a legacy read-only field that is no longer populated by the system."),
            }
        }),
    );
    put(
        "ManagedFieldsEntry",
        json!({
            "type": "object",
            "description": "ManagedFieldsEntry is a workflow-id, a FieldSet and the group version of the resource that the fieldset applies to.",
            "properties": {
                "apiVersion": string("APIVersion defines the version of this resource that this field set applies to. The format is \"group/version\" just like the top-level APIVersion field. It is necessary to track the version of a field set because it cannot be automatically converted."),
                "fieldsType": string("FieldsType is the discriminator for the different fields format and version. There is currently only one possible value: \"FieldsV1\""),
                "fieldsV1": ref_property(&meta_ref("FieldsV1"), "FieldsV1 holds the first JSON version format as described in the \"FieldsV1\" type.", false),
                "manager": string("Manager is an identifier of the workflow managing these fields."),
                "operation": string("Operation is the type of operation which lead to this ManagedFieldsEntry being created. The only valid values for this field are 'Apply' and 'Update'."),
                "subresource": string("Subresource is the name of the subresource used to update that object, or empty string if the object was updated through the main resource. The value of this field is used to distinguish between managers, even if they share the same name."),
                "time": ref_property(&meta_ref("Time"), "Time is the timestamp of when the ManagedFields entry was added. The timestamp will also be updated if a field is added, the manager changes any of the owned fields value or removes a field. The timestamp does not update when a field is removed from the entry because another manager took it over.", false),
            }
        }),
    );
    put(
        "OwnerReference",
        json!({
            "type": "object",
            "description": "OwnerReference contains enough information to let you identify an owning object. An owning object must be in the same namespace as the dependent, or be cluster-scoped, so there is no namespace field.",
            "required": ["apiVersion", "kind", "name", "uid"],
            "properties": {
                "apiVersion": string("API version of the referent."),
                "blockOwnerDeletion": {"type": "boolean", "description": "If true, AND if the owner has the \"foregroundDeletion\" finalizer, then the owner cannot be deleted from the key-value store until this reference is removed."},
                "controller": {"type": "boolean", "description": "If true, this reference points to the managing controller."},
                "kind": string("Kind of the referent. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#types-kinds"),
                "name": string("Name of the referent. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names"),
                "uid": string("UID of the referent. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/names#uids"),
            },
            "x-kubernetes-map-type": "atomic"
        }),
    );
    put(
        "Preconditions",
        json!({
            "type": "object",
            "description": "Preconditions must be fulfilled before an operation (update, delete, etc.) is carried out.",
            "properties": {
                "resourceVersion": {"type": "string", "description": "Specifies the target ResourceVersion"},
                "uid": {"type": "string", "description": "Specifies the target UID."},
            }
        }),
    );
    put(
        "DeleteOptions",
        json!({
            "type": "object",
            "description": "DeleteOptions may be provided when deleting an API object.",
            "properties": {
                "apiVersion": api_version_property(),
                "dryRun": {"type": "array", "description": "When present, indicates that modifications should not be persisted. An invalid or unrecognized dryRun directive will result in an error response and no further processing of the request. Valid values are: - All: all dry run stages will be processed", "items": {"type": "string", "default": ""}, "x-kubernetes-list-type": "atomic"},
                "gracePeriodSeconds": int64("The duration in seconds before the object should be deleted. Value must be non-negative integer. The value zero indicates delete immediately."),
                "ignoreStoreReadErrorWithClusterBreakingPotential": {"type": "boolean", "description": "if set to true, it will trigger an unsafe deletion of the resource in case the normal deletion flow fails with a corrupt object error."},
                "kind": kind_property(),
                "orphanDependents": {"type": "boolean", "description": "Deprecated: please use the PropagationPolicy, this field will be deprecated in 1.7. Should the dependent objects be orphaned."},
                "preconditions": ref_property(&meta_ref("Preconditions"), "Must be fulfilled before a deletion is carried out. If not possible, a 409 Conflict status will be returned.", false),
                "propagationPolicy": {"type": "string", "description": "Whether and how garbage collection will be performed. Acceptable values are: 'Orphan', 'Background', 'Foreground'."},
            },
            "x-kubernetes-group-version-kind": delete_options_kinds(group, version),
        }),
    );
    put(
        "StatusCause",
        json!({
            "type": "object",
            "description": "StatusCause provides more information about an api.Status failure, including cases when multiple errors are encountered.",
            "properties": {
                "field": {"type": "string", "description": "The field of the resource that has caused this error, as named by its JSON serialization."},
                "message": {"type": "string", "description": "A human-readable description of the cause of the error."},
                "reason": {"type": "string", "description": "A machine-readable description of the cause of the error. If this value is empty there is no information available."},
            }
        }),
    );
    put(
        "StatusDetails",
        json!({
            "type": "object",
            "description": "StatusDetails is a set of additional properties that MAY be set by the server to provide additional information about a response.",
            "properties": {
                "causes": {"type": "array", "description": "The Causes array includes more details associated with the StatusReason failure.", "items": {"allOf": [{"$ref": meta_ref("StatusCause")}], "default": {}}, "x-kubernetes-list-type": "atomic"},
                "group": {"type": "string", "description": "The group attribute of the resource associated with the status StatusReason."},
                "kind": {"type": "string", "description": "The kind attribute of the resource associated with the status StatusReason."},
                "name": {"type": "string", "description": "The name attribute of the resource associated with the status StatusReason (when there is a single name which can be described)."},
                "retryAfterSeconds": {"type": "integer", "format": "int32", "description": "If specified, the time in seconds before the operation should be retried."},
                "uid": {"type": "string", "description": "UID of the resource. (when there is a single resource which can be described)."},
            }
        }),
    );
    put(
        "Status",
        json!({
            "type": "object",
            "description": "Status is a return value for calls that don't return other objects.",
            "properties": {
                "apiVersion": api_version_property(),
                "code": {"type": "integer", "format": "int32", "description": "Suggested HTTP return code for this status, 0 if not set."},
                "details": ref_property(&meta_ref("StatusDetails"), "Extended data associated with the reason.  Each reason may define its own extended details. This field is optional and the data returned is not guaranteed to conform to any schema except that defined by the reason type.", false),
                "kind": kind_property(),
                "message": {"type": "string", "description": "A human-readable description of the status of this operation."},
                "metadata": ref_property(&meta_ref("ListMeta"), LIST_META_DESCRIPTION, true),
                "reason": {"type": "string", "description": "A machine-readable description of why this operation is in the \"Failure\" status. If this value is empty there is no information available."},
                "status": {"type": "string", "description": "Status of the operation. One of: \"Success\" or \"Failure\"."},
            },
            "x-kubernetes-group-version-kind": [{"group": "", "kind": "Status", "version": "v1"}],
        }),
    );
    m
}

fn delete_options_kinds(group: &str, version: &str) -> Value {
    let mut kinds = vec![json!({"group": "", "kind": "DeleteOptions", "version": "v1"})];
    if !group.is_empty() {
        kinds.push(json!({"group": group, "kind": "DeleteOptions", "version": version}));
    }
    Value::Array(kinds)
}

fn object_meta() -> Value {
    json!({
        "type": "object",
        "description": "ObjectMeta is metadata that all persisted resources must have, which includes all objects users must create.",
        "properties": {
            "annotations": string_map("Annotations is an unstructured key value map stored with a resource that may be set by external tools to store and retrieve arbitrary metadata. They are not queryable and should be preserved when modifying objects. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/annotations"),
            "creationTimestamp": ref_property(&meta_ref("Time"), "CreationTimestamp is a timestamp representing the server time when this object was created. It is not guaranteed to be set in happens-before order across separate operations. Clients may not set this value. It is represented in RFC3339 form and is in UTC.\n\nPopulated by the system. Read-only. Null for lists. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata", false),
            "deletionGracePeriodSeconds": int64("Number of seconds allowed for this object to gracefully terminate before it will be removed from the system. Only set when deletionTimestamp is also set. May only be shortened. Read-only."),
            "deletionTimestamp": ref_property(&meta_ref("Time"), "DeletionTimestamp is RFC 3339 date and time at which this resource will be deleted. This field is set by the server when a graceful deletion is requested by the user, and is not directly settable by a client.\n\nPopulated by the system when a graceful deletion is requested. Read-only. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata", false),
            "finalizers": {
                "type": "array",
                "description": "Must be empty before the object is deleted from the registry. Each entry is an identifier for the responsible component that will remove the entry from the list. If the deletionTimestamp of the object is non-nil, entries in this list can only be removed. Finalizers may be processed and removed in any order.  Order is NOT enforced because it introduces significant risk of stuck finalizers.",
                "items": {"type": "string", "default": ""},
                "x-kubernetes-list-type": "set",
                "x-kubernetes-patch-strategy": "merge"
            },
            "generateName": string("GenerateName is an optional prefix, used by the server, to generate a unique name ONLY IF the Name field has not been provided. If this field is used, the name returned to the client will be different than the name passed. This value will also be combined with a unique suffix. The provided value has the same validation rules as the Name field, and may be truncated by the length of the suffix required to make the value unique on the server."),
            "generation": int64("A sequence number representing a specific generation of the desired state. Populated by the system. Read-only."),
            "labels": string_map("Map of string keys and values that can be used to organize and categorize (scope and select) objects. May match selectors of replication controllers and services. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/labels"),
            "managedFields": {
                "type": "array",
                "description": "ManagedFields maps workflow-id and version to the set of fields that are managed by that workflow. This is mostly for internal housekeeping, and users typically shouldn't need to set or understand this field. A workflow can be the user's name, a controller's name, or the name of a specific apply path like \"ci-cd\". The set of fields is always in the version that the workflow used when modifying the object.",
                "items": {"allOf": [{"$ref": meta_ref("ManagedFieldsEntry")}], "default": {}},
                "x-kubernetes-list-type": "atomic"
            },
            "name": string("Name must be unique within a namespace. Is required when creating resources, although some resources may allow a client to request the generation of an appropriate name automatically. Name is primarily intended for creation idempotence and configuration definition. Cannot be updated. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names"),
            "namespace": string("Namespace defines the space within which each name must be unique. An empty namespace is equivalent to the \"default\" namespace, but \"default\" is the canonical representation. Not all objects are required to be scoped to a namespace - the value of this field for those objects will be empty.\n\nMust be a DNS_LABEL. Cannot be updated. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/namespaces"),
            "ownerReferences": {
                "type": "array",
                "description": "List of objects depended by this object. If ALL objects in the list have been deleted, this object will be garbage collected. If this object is managed by a controller, then an entry in this list will point to this controller, with the controller field set to true. There cannot be more than one managing controller.",
                "items": {"allOf": [{"$ref": meta_ref("OwnerReference")}], "default": {}},
                "x-kubernetes-list-map-keys": ["uid"],
                "x-kubernetes-list-type": "map",
                "x-kubernetes-patch-merge-key": "uid",
                "x-kubernetes-patch-strategy": "merge"
            },
            "resourceVersion": string("An opaque value that represents the internal version of this object that can be used by clients to determine when objects have changed. May be used for optimistic concurrency, change detection, and the watch operation on a resource or set of resources. Clients must treat these values as opaque and passed unmodified back to the server. They may only be valid for a particular resource or set of resources.\n\nPopulated by the system. Read-only. Value must be treated as opaque by clients and . More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#concurrency-control-and-consistency"),
            "selfLink": string("Deprecated: selfLink is a legacy read-only field that is no longer populated by the system."),
            "uid": string("UID is the unique in time and space value for this object. It is typically generated by the server on successful creation of a resource and is not allowed to change on PUT operations.\n\nPopulated by the system. Read-only. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/names#uids"),
        }
    })
}
