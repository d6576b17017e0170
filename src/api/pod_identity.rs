//! What status records of the EKS Pod Identity associations an IamRole made.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// An EKS Pod Identity association rolesmith made for a `serviceAccounts` entry via
/// PodIdentity; deleted with the entry or the IamRole.
#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PodIdentityAssociation {
    /// Namespace of the ServiceAccount.
    pub namespace: String,
    /// Name of the ServiceAccount.
    pub service_account: String,
    /// EKS's id of the association (a-…).
    pub association_id: String,
}
