//! What the watch cache keeps of each object. It holds every watched object for the life of the
//! operator, so at 10,000 IamRoles what it keeps per object is most of the operator's memory.
//! Nothing here changes what a reconcile decides, and the cache's copy is never written back (the
//! operator writes only status and finalizers), so the objects in the API keep their form.

use kube::Resource;
use serde_json::Value;

use super::Guarded;
use crate::api::IamRoleSpec;

const LAST_APPLIED: &str = "kubectl.kubernetes.io/last-applied-configuration";

/// Drops what nothing here reads but can be most of an object's size: managedFields, and the
/// copy of the whole object `kubectl apply` keeps in an annotation.
pub(crate) fn slim(meta: &mut kube::api::ObjectMeta) {
    meta.managed_fields = None;
    if let Some(annotations) = &mut meta.annotations {
        annotations.remove(LAST_APPLIED);
        if annotations.is_empty() {
            meta.annotations = None;
        }
    }
}

/// [`slim`], and each policy document held as its JSON text rather than as a tree of maps (a
/// fifth of the memory for a typical document).
pub(super) fn slim_role(object: &mut Guarded) {
    slim(object.meta_mut());
    if let Ok(role) = &mut object.0 {
        compact_documents(&mut role.spec);
    }
}

/// A document written as a mapping becomes the text serde_json renders it as, which is exactly
/// the text admission would send to IAM for the mapping; a document written as text is read
/// that way already. Anything else is left for admission to refuse with its own message.
fn compact_documents(spec: &mut IamRoleSpec) {
    if let Some(trust) = &mut spec.assume_role_policy {
        compact(trust);
    }
    spec.inline_policies.values_mut().for_each(compact);
}

fn compact(document: &mut Value) {
    if document.is_object()
        && let Ok(text) = serde_json::to_string(document)
    {
        *document = Value::String(text);
    }
}

/// Returns to the system what the allocator holds free. glibc keeps freed memory for reuse, so
/// without this the process stays at the size of its largest sweep or its largest wave of
/// objects, long after they are gone. It takes milliseconds; called after each drift check.
pub(super) fn return_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only releases free pages of the allocator's own heaps; it reads and
    // writes no memory of ours and is safe to call from any thread at any time.
    unsafe {
        libc::malloc_trim(0);
    }
}

#[cfg(test)]
mod tests;
