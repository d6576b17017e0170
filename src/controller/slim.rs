//! What the watch caches keep of each object (IamRoles: [`super::cached`]). A cache holds every
//! watched object for the life of the operator. Nothing here changes what a reconcile decides,
//! and a cache's copy is never written back (the operator writes only status and finalizers), so
//! the objects in the API keep their form.

pub(super) const LAST_APPLIED: &str = "kubectl.kubernetes.io/last-applied-configuration";

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
