//! Typed KMIP operations on a [`Connection`]: one request with one batch item each, the
//! answer checked (status Success, matching operation and batch item ID) and its payload
//! returned typed. A failed item becomes [`ClientError::Kmip`].
//!
//! Sections are KMIP 1.4 section 4 / KMIP 2.1 section 6.1; the payloads are
//! [`kmip_codec::model`]'s, which encode in the connection's protocol version (1.x
//! Template-Attribute / Attribute, 2.x Attributes).

use kmip_codec::enums::{
    CryptographicAlgorithm, CryptographicUsageMask, KeyFormatType, ObjectType, Operation,
    QueryFunction, ResultStatus, RevocationReasonCode,
};
use kmip_codec::model::{
    ActivateRequest, AddAttributeRequest, AddAttributeResponse, Attribute, AttributeName,
    AttributeValue, Attributes, CreateRequest, CreateResponse, CryptographicParameters,
    DecryptRequest, DeleteAttributeRequest, DeleteAttributeResponse, DestroyRequest,
    DiscoverVersionsRequest, EncryptRequest, EncryptResponse, GetAttributeListRequest,
    GetAttributesRequest, GetRequest, GetResponse, LocateRequest, LocateResponse, ManagedObject,
    ModifyAttributeRequest, ModifyAttributeResponse, QueryRequest, QueryResponse, ReKeyRequest,
    RegisterRequest, RequestBatchItem, RequestPayload, ResponseBatchItem, ResponsePayload,
    RevocationReason, RevokeRequest, RngRetrieveRequest,
};
use kmip_codec::tags::Tag;
use kmip_codec::ttlv::Bytes;
use kmip_codec::version::ProtocolVersion;

use crate::connection::{Connection, check_answers};
use crate::error::{ClientError, Result};

/// Options of Encrypt and Decrypt besides the key and the data.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CipherOptions {
    /// Cryptographic Parameters (else the key's own).
    pub parameters: Option<CryptographicParameters>,
    /// IV/Counter/Nonce (Encrypt: else the server makes one and returns it).
    pub iv: Option<Vec<u8>>,
    /// Authenticated Encryption Additional Data (1.4+).
    pub aad: Option<Vec<u8>>,
    /// Authenticated Encryption Tag (Decrypt only, 1.4+).
    pub tag: Option<Vec<u8>>,
}

/// Takes the payload variant an operation must answer with.
macro_rules! expect {
    ($variant:ident) => {
        |p: ResponsePayload| match p {
            ResponsePayload::$variant(x) => Some(x),
            _ => None,
        }
    };
}

/// The payload of a successful answer to an `asked` item, or the KMIP failure.
pub(crate) fn success(item: ResponseBatchItem, asked: Operation) -> Result<ResponsePayload> {
    if item.result_status != ResultStatus::SUCCESS {
        return Err(ClientError::Kmip {
            operation: item.operation.unwrap_or(asked),
            status: item.result_status,
            reason: item.result_reason,
            message: item.result_message,
        });
    }
    item.payload.ok_or(ClientError::UnexpectedResponse(
        "successful item without payload",
    ))
}

impl Connection {
    /// Sends one typed payload and returns the typed answer `pick` extracts. An operation
    /// the connection's protocol version does not define is refused before sending. (Fields
    /// the version does not define, such as Offset Items before 1.3, are left out of the
    /// encoding by the codec.)
    pub async fn call<T>(
        &mut self,
        payload: impl Into<RequestPayload>,
        pick: impl FnOnce(ResponsePayload) -> Option<T>,
    ) -> Result<T> {
        let item = RequestBatchItem::new(payload);
        let asked = item.operation;
        if !asked.is_defined_in(self.protocol_version()) {
            return Err(ClientError::NotInVersion {
                operation: asked,
                version: self.protocol_version(),
            });
        }
        let request = self.message(vec![item]);
        let response = self.request(&request).await?;
        check_answers(&request.batch_items, &response.batch_items)?;
        let item =
            response
                .batch_items
                .into_iter()
                .next()
                .ok_or(ClientError::UnexpectedResponse(
                    "no batch item in the response",
                ))?;
        pick(success(item, asked)?).ok_or(ClientError::UnexpectedResponse(
            "payload of another operation",
        ))
    }

    /// Discover Versions (1.4 section 4.26): the versions both sides support, the server's
    /// preference first. Empty `versions` asks for all the server's.
    pub async fn discover_versions(
        &mut self,
        versions: &[ProtocolVersion],
    ) -> Result<Vec<ProtocolVersion>> {
        let request = DiscoverVersionsRequest {
            protocol_versions: versions.to_vec(),
        };
        let r = self.call(request, expect!(DiscoverVersions)).await?;
        Ok(r.protocol_versions)
    }

    /// Query (1.4 section 4.25).
    pub async fn query(&mut self, functions: &[QueryFunction]) -> Result<QueryResponse> {
        let request = QueryRequest {
            query_functions: functions.to_vec(),
            object_groups: Vec::new(),
        };
        self.call(request, expect!(Query)).await
    }

    /// Create (1.4 section 4.1) with a full request.
    pub async fn create(&mut self, request: CreateRequest) -> Result<CreateResponse> {
        self.call(request, expect!(Create)).await
    }

    /// Creates a symmetric key of `algorithm` and `bits` with this usage mask plus the extra
    /// `attributes` (Name, Object Group, custom attributes...); returns its Unique Identifier.
    pub async fn create_symmetric_key(
        &mut self,
        algorithm: CryptographicAlgorithm,
        bits: i32,
        usage_mask: CryptographicUsageMask,
        attributes: Attributes,
    ) -> Result<String> {
        let mut all = Attributes::new()
            .with(
                Tag::CRYPTOGRAPHIC_ALGORITHM,
                AttributeValue::Enumeration(algorithm.0),
            )
            .with(Tag::CRYPTOGRAPHIC_LENGTH, AttributeValue::Integer(bits))
            .with(
                Tag::CRYPTOGRAPHIC_USAGE_MASK,
                AttributeValue::Integer(i32::from_be_bytes(usage_mask.0.to_be_bytes())),
            );
        all.0.extend(attributes.0);
        let request = CreateRequest {
            object_type: ObjectType::SYMMETRIC_KEY,
            attributes: all,
            template_names: Vec::new(),
            protection_storage_masks: None,
        };
        Ok(self.create(request).await?.unique_identifier)
    }

    /// Register (1.4 section 4.3): stores `object` with `attributes`; returns its Unique
    /// Identifier.
    pub async fn register(
        &mut self,
        object: ManagedObject,
        attributes: Attributes,
    ) -> Result<String> {
        let request = RegisterRequest {
            object_type: object.object_type(),
            attributes,
            template_names: Vec::new(),
            object,
            protection_storage_masks: None,
        };
        let r = self.call(request, expect!(Register)).await?;
        Ok(r.unique_identifier)
    }

    /// Get (1.4 section 4.11), in the server's default format unless `key_format_type`.
    pub async fn get(
        &mut self,
        uid: &str,
        key_format_type: Option<KeyFormatType>,
    ) -> Result<GetResponse> {
        let request = GetRequest {
            unique_identifier: Some(uid.to_owned()),
            key_format_type,
            ..GetRequest::default()
        };
        self.call(request, expect!(Get)).await
    }

    /// Get Attributes (1.4 section 4.12): the named attributes (empty: all).
    pub async fn get_attributes(
        &mut self,
        uid: &str,
        names: Vec<AttributeName>,
    ) -> Result<Attributes> {
        let request = GetAttributesRequest {
            unique_identifier: Some(uid.to_owned()),
            attribute_names: names,
        };
        let r = self.call(request, expect!(GetAttributes)).await?;
        Ok(r.attributes)
    }

    /// Get Attribute List (1.4 section 4.13).
    pub async fn get_attribute_list(&mut self, uid: &str) -> Result<Vec<AttributeName>> {
        let request = GetAttributeListRequest {
            unique_identifier: Some(uid.to_owned()),
        };
        let r = self.call(request, expect!(GetAttributeList)).await?;
        Ok(r.attribute_names)
    }

    /// Add Attribute (1.4 section 4.14).
    pub async fn add_attribute(
        &mut self,
        uid: &str,
        attribute: Attribute,
    ) -> Result<AddAttributeResponse> {
        let request = AddAttributeRequest {
            unique_identifier: Some(uid.to_owned()),
            attribute,
        };
        self.call(request, expect!(AddAttribute)).await
    }

    /// Modify Attribute (1.4 section 4.15); in 2.x, `current` names the instance to change.
    pub async fn modify_attribute(
        &mut self,
        uid: &str,
        current: Option<Attribute>,
        attribute: Attribute,
    ) -> Result<ModifyAttributeResponse> {
        let request = ModifyAttributeRequest {
            unique_identifier: Some(uid.to_owned()),
            current_attribute: current,
            attribute,
        };
        self.call(request, expect!(ModifyAttribute)).await
    }

    /// Delete Attribute (1.4 section 4.16): the attribute `name` (1.x: instance `index`).
    pub async fn delete_attribute(
        &mut self,
        uid: &str,
        name: AttributeName,
        index: Option<i32>,
    ) -> Result<DeleteAttributeResponse> {
        let request = DeleteAttributeRequest {
            unique_identifier: Some(uid.to_owned()),
            current_attribute: None,
            attribute_name: Some(name),
            attribute_index: index,
        };
        self.call(request, expect!(DeleteAttribute)).await
    }

    /// Locate (1.4 section 4.9): objects matching every attribute.
    pub async fn locate(
        &mut self,
        attributes: Attributes,
        max_items: Option<i32>,
        offset: Option<i32>,
    ) -> Result<LocateResponse> {
        let request = LocateRequest {
            maximum_items: max_items,
            offset_items: offset,
            attributes,
            ..LocateRequest::default()
        };
        self.call(request, expect!(Locate)).await
    }

    /// Activate (1.4 section 4.19).
    pub async fn activate(&mut self, uid: &str) -> Result<()> {
        let request = ActivateRequest {
            unique_identifier: Some(uid.to_owned()),
        };
        self.call(request, expect!(Activate)).await.map(drop)
    }

    /// Revoke (1.4 section 4.20).
    pub async fn revoke(
        &mut self,
        uid: &str,
        code: RevocationReasonCode,
        message: Option<String>,
    ) -> Result<()> {
        let request = RevokeRequest {
            unique_identifier: Some(uid.to_owned()),
            revocation_reason: RevocationReason { code, message },
            compromise_occurrence_date: None,
        };
        self.call(request, expect!(Revoke)).await.map(drop)
    }

    /// Destroy (1.4 section 4.21).
    pub async fn destroy(&mut self, uid: &str) -> Result<()> {
        let request = DestroyRequest {
            unique_identifier: Some(uid.to_owned()),
        };
        self.call(request, expect!(Destroy)).await.map(drop)
    }

    /// Re-key (1.4 section 4.4): a replacement for key `uid`, its dates moved by `offset`
    /// seconds; returns the new key's Unique Identifier.
    pub async fn rekey(&mut self, uid: &str, offset: Option<u32>) -> Result<String> {
        let request = ReKeyRequest {
            unique_identifier: Some(uid.to_owned()),
            offset,
            ..ReKeyRequest::default()
        };
        let r = self.call(request, expect!(ReKey)).await?;
        Ok(r.unique_identifier)
    }

    /// Encrypt (1.4 section 4.29) `data` with key `uid`; the answer holds the ciphertext,
    /// the IV when the server made one, and the tag of an AEAD mode.
    pub async fn encrypt(
        &mut self,
        uid: &str,
        data: Bytes,
        options: CipherOptions,
    ) -> Result<EncryptResponse> {
        let request = EncryptRequest {
            unique_identifier: Some(uid.to_owned()),
            cryptographic_parameters: options.parameters,
            data: Some(data),
            iv_counter_nonce: options.iv,
            authenticated_encryption_additional_data: options.aad,
            ..EncryptRequest::default()
        };
        self.call(request, expect!(Encrypt)).await
    }

    /// Decrypt (1.4 section 4.30) `data` with key `uid`; returns the plaintext.
    pub async fn decrypt(
        &mut self,
        uid: &str,
        data: Bytes,
        options: CipherOptions,
    ) -> Result<Bytes> {
        let request = DecryptRequest {
            unique_identifier: Some(uid.to_owned()),
            cryptographic_parameters: options.parameters,
            data: Some(data),
            iv_counter_nonce: options.iv,
            authenticated_encryption_additional_data: options.aad,
            authenticated_encryption_tag: options.tag,
            ..DecryptRequest::default()
        };
        let r = self.call(request, expect!(Decrypt)).await?;
        r.data.ok_or(ClientError::UnexpectedResponse(
            "Decrypt answer without Data",
        ))
    }

    /// RNG Retrieve (1.4 section 4.35): `length` random bytes from the server.
    pub async fn rng_retrieve(&mut self, length: i32) -> Result<Bytes> {
        let request = RngRetrieveRequest {
            data_length: length,
        };
        let r = self.call(request, expect!(RngRetrieve)).await?;
        Ok(r.data)
    }
}
