//! Sealing KEKs under Domain Keys: round trips, tenant/object binding, tampering, rotation.

use hsm::ceremony::{self, CeremonyToken};
use hsm::{Error, Hsm, RootExport, SealContext, SealedBlob};

use softhsm_support::harness::Env;
use softhsm_support::softhsm_test;

use crate::token_setup::{TestTokens, user_pin};

/// A token with a root, opened.
pub fn open_with_root(env: &Env, label: &str) -> Hsm {
    env.init_token(label);
    let token = CeremonyToken::open(&env.config(label)).expect("token");
    ceremony::generate_root(&token, &user_pin(), RootExport::Never).expect("root");
    Hsm::open(&env.config(label)).expect("open")
}

fn ctx<'a>(tenant: &'a str, object_id: &'a str) -> SealContext<'a> {
    SealContext {
        tenant,
        object_id,
        version: 1,
    }
}

softhsm_test! {
    fn other_tenants_domain_key_cannot_unseal(env) {
        let hsm = open_with_root(env, "seal");
        let dk_a = hsm.create_domain_key(1).expect("dk a");
        let dk_b = hsm.create_domain_key(1).expect("dk b");
        assert_ne!(dk_a.wrapped, dk_b.wrapped);
        let kek = hsm.random(32).expect("random");
        let sealed = hsm.seal(&dk_a, &ctx("tenant-a", "kek-1"), kek.expose()).expect("seal");
        let back = hsm.unseal(&dk_a, &ctx("tenant-a", "kek-1"), &sealed).expect("unseal");
        assert_eq!(back, kek);

        for (dk, context) in [
            (&dk_b, ctx("tenant-b", "kek-1")), // B's key, B's name
            (&dk_b, ctx("tenant-a", "kek-1")), // B's key, A's name
            (&dk_a, ctx("tenant-b", "kek-1")), // blob moved to tenant B
            (&dk_a, ctx("tenant-a", "kek-2")), // blob moved to another object
            (&dk_a, SealContext { version: 2, ..ctx("tenant-a", "kek-1") }),
        ] {
            let err = hsm.unseal(dk, &context, &sealed).expect_err("must not unseal");
            assert!(matches!(err, Error::UnsealFailed), "{context:?}: {err:?}");
        }
    }
}

softhsm_test! {
    fn swapped_or_bit_flipped_blobs_fail(env) {
        let hsm = open_with_root(env, "tamper");
        let dk = hsm.create_domain_key(1).expect("dk");
        let one = hsm.seal(&dk, &ctx("t", "obj-1"), b"first key material 0123456789ab").expect("seal");
        let two = hsm.seal(&dk, &ctx("t", "obj-2"), b"other key material 0123456789ab").expect("seal");
        let err = hsm.unseal(&dk, &ctx("t", "obj-1"), &two).expect_err("swapped");
        assert!(matches!(err, Error::UnsealFailed), "{err:?}");

        let bytes = one.to_bytes();
        // Flip one bit in each position after the format byte and DK version: IV, ciphertext, tag.
        for index in 5..bytes.len() {
            let mut flipped = bytes.clone();
            flipped[index] ^= 0x01;
            let blob = SealedBlob::from_bytes(&flipped).expect("still parses");
            let err = hsm.unseal(&dk, &ctx("t", "obj-1"), &blob).expect_err("flipped");
            assert!(matches!(err, Error::UnsealFailed), "byte {index}: {err:?}");
        }
        let mut truncated = bytes.clone();
        truncated.pop();
        let blob = SealedBlob::from_bytes(&truncated).expect("parses");
        assert!(matches!(hsm.unseal(&dk, &ctx("t", "obj-1"), &blob), Err(Error::UnsealFailed)));
        assert_eq!(
            hsm.unseal(&dk, &ctx("t", "obj-1"), &one).expect("intact").expose(),
            b"first key material 0123456789ab"
        );
    }
}

softhsm_test! {
    fn rotation_reseals_and_drop_forgets_cached_keys(env) {
        let hsm = open_with_root(env, "rotate");
        let v1 = hsm.create_domain_key(1).expect("v1");
        let v2 = hsm.create_domain_key(2).expect("v2");
        let context = ctx("t", "kek");
        let sealed = hsm.seal(&v1, &context, b"0123456789abcdef0123456789abcdef").expect("seal");
        assert_eq!(sealed.dk_version(), 1);
        let resealed = hsm.reseal(&v1, &v2, &context, &sealed).expect("reseal");
        assert_eq!(resealed.dk_version(), 2);
        assert!(matches!(hsm.unseal(&v1, &context, &resealed), Err(Error::UnsealFailed)));
        let back = hsm.unseal(&v2, &context, &resealed).expect("unseal v2");
        assert_eq!(back.expose(), b"0123456789abcdef0123456789abcdef");

        assert_eq!(hsm.cached_domain_keys(), 2);
        assert_eq!(hsm.drop_domain_key("t").expect("drop"), 2);
        assert_eq!(hsm.cached_domain_keys(), 0);
        // Unwrapped again on demand.
        assert!(hsm.unseal(&v2, &context, &resealed).is_ok());
        assert_eq!(hsm.cached_domain_keys(), 1);
    }
}

softhsm_test! {
    fn random_bytes_come_in_the_asked_length_and_differ(env) {
        let hsm = open_with_root(env, "rng");
        let a = hsm.random(32).expect("a");
        let b = hsm.random(32).expect("b");
        assert_eq!(a.len(), 32);
        assert_ne!(a, b);
        assert!(matches!(hsm.random(0), Err(Error::Length { .. })));
        assert!(matches!(hsm.random(hsm::MAX_RANDOM_LEN + 1), Err(Error::Length { .. })));
        let empty = hsm.seal(&hsm.create_domain_key(1).expect("dk"), &ctx("t", "o"), b"");
        assert!(matches!(empty, Err(Error::Length { .. })));
    }
}

softhsm_test! {
    fn audit_key_signs_verifiably_and_persists(env) {
        let hsm = open_with_root(env, "audit");
        assert_eq!(hsm.audit_public_key().expect("lookup"), None);
        assert!(matches!(hsm.sign_audit(b"x"), Err(Error::AuditKeyNotFound { .. })));
        let public = hsm.create_audit_key().expect("create");
        assert_eq!(public.len(), 65);
        assert_eq!(hsm.create_audit_key().expect("again"), public, "created once");
        assert_eq!(hsm.audit_public_key().expect("lookup"), Some(public.clone()));
        let message = b"checkpoint 42: 3f1a...";
        let signature = hsm.sign_audit(message).expect("sign");
        let key = ring::signature::UnparsedPublicKey::new(&ring::signature::ECDSA_P256_SHA256_FIXED, &public);
        key.verify(message, &signature).expect("signature verifies");
        assert!(key.verify(b"checkpoint 43", &signature).is_err());
    }
}
