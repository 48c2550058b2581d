//! The only crate that talks PKCS#11 (through `cryptoki`). It knows keys and mechanisms, not
//! KMIP: the Root of Trust, per-tenant Domain Keys wrapped under it, sealing of KEKs under a
//! Domain Key, random bytes, and the key ceremony that puts one Root of Trust into every AZ's HSM.
#![forbid(unsafe_code)]
