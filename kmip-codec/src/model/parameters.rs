//! Cryptographic Parameters (KMIP 1.4 section 3.6, KMIP 2.1 section 4.16): used as an attribute,
//! in Key Wrapping Data / Specification and in the cryptographic operations.

use crate::enums::{
    BlockCipherMode, CryptographicAlgorithm, DigitalSignatureAlgorithm, HashingAlgorithm,
    KeyRoleType, MaskGenerator, PaddingMethod,
};
use crate::error::Result;
use crate::model::fields::{Fielded, Fields, Out};
use crate::tags::Tag;

/// Cryptographic Parameters (KMIP 1.4 section 3.6, KMIP 2.1 section 4.16). Every field is
/// optional; the later ones appeared in 1.2 (Digital Signature Algorithm to Initial Counter
/// Value) and 1.4 (Salt Length to Trailer Field).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CryptographicParameters {
    /// Block Cipher Mode.
    pub block_cipher_mode: Option<BlockCipherMode>,
    /// Padding Method.
    pub padding_method: Option<PaddingMethod>,
    /// Hashing Algorithm.
    pub hashing_algorithm: Option<HashingAlgorithm>,
    /// Key Role Type.
    pub key_role_type: Option<KeyRoleType>,
    /// Digital Signature Algorithm (1.2+).
    pub digital_signature_algorithm: Option<DigitalSignatureAlgorithm>,
    /// Cryptographic Algorithm (1.2+).
    pub cryptographic_algorithm: Option<CryptographicAlgorithm>,
    /// Random IV (1.2+).
    pub random_iv: Option<bool>,
    /// IV Length in bits (1.2+).
    pub iv_length: Option<i32>,
    /// Tag Length in bytes (1.2+).
    pub tag_length: Option<i32>,
    /// Fixed Field Length (1.2+).
    pub fixed_field_length: Option<i32>,
    /// Invocation Field Length (1.2+).
    pub invocation_field_length: Option<i32>,
    /// Counter Length (1.2+).
    pub counter_length: Option<i32>,
    /// Initial Counter Value (1.2+).
    pub initial_counter_value: Option<i32>,
    /// Salt Length (1.4+).
    pub salt_length: Option<i32>,
    /// Mask Generator (1.4+).
    pub mask_generator: Option<MaskGenerator>,
    /// Mask Generator Hashing Algorithm (1.4+).
    pub mask_generator_hashing_algorithm: Option<HashingAlgorithm>,
    /// P Source (1.4+).
    pub p_source: Option<Vec<u8>>,
    /// Trailer Field (1.4+).
    pub trailer_field: Option<i32>,
}

impl Fielded for CryptographicParameters {
    fn read(f: &mut Fields<'_>) -> Result<Self> {
        Ok(Self {
            block_cipher_mode: f.opt_enum(Tag::BLOCK_CIPHER_MODE)?.map(BlockCipherMode),
            padding_method: f.opt_enum(Tag::PADDING_METHOD)?.map(PaddingMethod),
            hashing_algorithm: f.opt_enum(Tag::HASHING_ALGORITHM)?.map(HashingAlgorithm),
            key_role_type: f.opt_enum(Tag::KEY_ROLE_TYPE)?.map(KeyRoleType),
            digital_signature_algorithm: f
                .opt_enum(Tag::DIGITAL_SIGNATURE_ALGORITHM)?
                .map(DigitalSignatureAlgorithm),
            cryptographic_algorithm: f
                .opt_enum(Tag::CRYPTOGRAPHIC_ALGORITHM)?
                .map(CryptographicAlgorithm),
            random_iv: f.opt_bool(Tag::RANDOM_IV)?,
            iv_length: f.opt_int(Tag::IV_LENGTH)?,
            tag_length: f.opt_int(Tag::TAG_LENGTH)?,
            fixed_field_length: f.opt_int(Tag::FIXED_FIELD_LENGTH)?,
            invocation_field_length: f.opt_int(Tag::INVOCATION_FIELD_LENGTH)?,
            counter_length: f.opt_int(Tag::COUNTER_LENGTH)?,
            initial_counter_value: f.opt_int(Tag::INITIAL_COUNTER_VALUE)?,
            salt_length: f.opt_int(Tag::SALT_LENGTH)?,
            mask_generator: f.opt_enum(Tag::MASK_GENERATOR)?.map(MaskGenerator),
            mask_generator_hashing_algorithm: f
                .opt_enum(Tag::MASK_GENERATOR_HASHING_ALGORITHM)?
                .map(HashingAlgorithm),
            p_source: f.opt_plain_bytes(Tag::P_SOURCE)?,
            trailer_field: f.opt_int(Tag::TRAILER_FIELD)?,
        })
    }

    fn write(&self, out: &mut Out) {
        out.opt_enum(Tag::BLOCK_CIPHER_MODE, self.block_cipher_mode.map(|e| e.0))
            .opt_enum(Tag::PADDING_METHOD, self.padding_method.map(|e| e.0))
            .opt_enum(Tag::HASHING_ALGORITHM, self.hashing_algorithm.map(|e| e.0))
            .opt_enum(Tag::KEY_ROLE_TYPE, self.key_role_type.map(|e| e.0))
            .opt_enum(
                Tag::DIGITAL_SIGNATURE_ALGORITHM,
                self.digital_signature_algorithm.map(|e| e.0),
            )
            .opt_enum(
                Tag::CRYPTOGRAPHIC_ALGORITHM,
                self.cryptographic_algorithm.map(|e| e.0),
            )
            .opt_bool(Tag::RANDOM_IV, self.random_iv)
            .opt_int(Tag::IV_LENGTH, self.iv_length)
            .opt_int(Tag::TAG_LENGTH, self.tag_length)
            .opt_int(Tag::FIXED_FIELD_LENGTH, self.fixed_field_length)
            .opt_int(Tag::INVOCATION_FIELD_LENGTH, self.invocation_field_length)
            .opt_int(Tag::COUNTER_LENGTH, self.counter_length)
            .opt_int(Tag::INITIAL_COUNTER_VALUE, self.initial_counter_value)
            .opt_int(Tag::SALT_LENGTH, self.salt_length)
            .opt_enum(Tag::MASK_GENERATOR, self.mask_generator.map(|e| e.0))
            .opt_enum(
                Tag::MASK_GENERATOR_HASHING_ALGORITHM,
                self.mask_generator_hashing_algorithm.map(|e| e.0),
            )
            .opt_plain_bytes(Tag::P_SOURCE, self.p_source.as_deref())
            .opt_int(Tag::TRAILER_FIELD, self.trailer_field);
    }
}
