//! `POST /v1/tenants/{tenant}/clients/{name}/csr` (tenant admin, operator): vCenter's "New
//! CSR" trust mode. The tenant admin submits the CSR vCenter made; the node signs it with the
//! KMS client CA, whose key the tenant admin never holds (`[tls] client_ca_key`), for the
//! principal `urn:kms:principal:kmip-client:<tenant>:<name>`. Only the CSR's public key (after
//! its self-signature proved possession) and its CN are used (`certs::csr`); whatever SAN or
//! EKU it asks for is ignored. The client must be enrolled as a CA-issued `kmip-client`.
//! Answers `{"certificate", "ca", "fingerprint", "principal", "not_after"}` (PEM for the
//! first two: what to upload into vCenter).

use std::sync::Arc;

use axum::Json;
use axum::extract::rejection::{JsonRejection, PathRejection};
use axum::extract::{Path, State};
use certs::identity::{PrincipalUri, TenantId};
use serde::Deserialize;

use super::AdminState;
use super::auth::Caller;
use super::error::{ApiError, CsrRefusal};
use crate::store::records::{ClientIdentity, Role, client_key};

/// `POST .../clients/{name}/csr` body: `{"csr": "-----BEGIN CERTIFICATE REQUEST-----..."}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct SigningRequest {
    csr: String,
}

/// `POST /v1/tenants/{tenant}/clients/{name}/csr`.
pub(crate) async fn sign(
    State(state): State<Arc<AdminState>>,
    _granted: Caller,
    path: Result<Path<(String, String)>, PathRejection>,
    body: Result<Json<SigningRequest>, JsonRejection>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let Path((tenant, name)) = path.map_err(|_| ApiError::NoSuchRoute)?;
    let Json(body) = body.map_err(|_| ApiError::BadRequest("invalid JSON body"))?;
    let signer = state
        .enrollment
        .csr_signer
        .as_ref()
        .ok_or(ApiError::CsrSigningOff)?;
    let client = state
        .kms
        .store()
        .client(&client_key(Some(&tenant), &name))?
        .ok_or(ApiError::NoSuchClient)?;
    if client.identity != ClientIdentity::CaIssued || client.role != Role::KmipClient {
        return Err(ApiError::NotCaIssuedClient);
    }
    let principal = TenantId::new(tenant.as_str())
        .and_then(|t| PrincipalUri::kmip_client(t, name.as_str()))
        .map_err(|_| ApiError::BadRequest("invalid name"))?;
    let certificate = signer
        .sign_csr(&body.csr, &principal, certs::LEAF_DEFAULT_DAYS)
        .map_err(CsrRefusal::of)?;
    let not_after = crate::tls::verifier::validity(certificate.der())
        .and_then(|(_, not_after)| super::rfc3339(not_after));
    let fingerprint = certificate.fingerprint().hex();
    tracing::info!(
        tenant,
        client = name,
        %fingerprint,
        "client certificate signed from a CSR"
    );
    Ok(Json(serde_json::json!({
        "certificate": certificate.pem(),
        "ca": signer.certificate().pem(),
        "fingerprint": fingerprint,
        "principal": principal.to_string(),
        "not_after": not_after,
    })))
}
