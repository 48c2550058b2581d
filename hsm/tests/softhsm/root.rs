//! The Root of Trust's attributes, as the token reports them, and its KCV.

use aes::cipher::{BlockEncrypt, KeyInit};
use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
use cryptoki::error::{Error as CkError, RvError};
use cryptoki::mechanism::Mechanism;
use cryptoki::object::{Attribute, AttributeType, KeyType, ObjectClass};
use cryptoki::session::{Session, UserType};
use hsm::ceremony::{self, CeremonyToken};
use hsm::{Hsm, KcvSource, RootExport};

use softhsm_support::softhsm_test;

use crate::token_setup::{TestTokens, USER_PIN, module, so_pin, user_pin};

/// A raw session on `label`, beside the crate (same process, same module instance).
fn raw_session(label: &str) -> Session {
    let pkcs11 = Pkcs11::new(module()).expect("load module");
    match pkcs11.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK)) {
        Ok(()) | Err(CkError::Pkcs11(RvError::CryptokiAlreadyInitialized, _)) => {}
        Err(err) => panic!("initialize: {err}"),
    }
    let slot = pkcs11
        .get_slots_with_initialized_token()
        .expect("slots")
        .into_iter()
        .find(|slot| {
            pkcs11
                .get_token_info(*slot)
                .expect("info")
                .label()
                .trim_end()
                == label
        })
        .expect("token slot");
    pkcs11.open_rw_session(slot).expect("session")
}

fn login_user(session: &Session) {
    match session.login(UserType::User, Some(&USER_PIN.into())) {
        Ok(()) | Err(CkError::Pkcs11(RvError::UserAlreadyLoggedIn, _)) => {}
        Err(err) => panic!("login: {err}"),
    }
}

fn find_root(session: &Session) -> cryptoki::object::ObjectHandle {
    let found = session
        .find_objects(&[Attribute::Label(b"kms-root-of-trust".to_vec())])
        .expect("find");
    assert_eq!(found.len(), 1, "exactly one root");
    found[0]
}

softhsm_test! {
    fn source_root_is_sensitive_unmodifiable_and_leaves_only_under_trusted_keys(env) {
        env.init_token("src");
        let token = CeremonyToken::open(&env.config("src")).expect("token");
        let kcv = ceremony::generate_root(&token, &user_pin(), RootExport::WrappedUnderTrustedOnly)
            .expect("generate root");
        let hsm = Hsm::open(&env.config("src")).expect("open");
        assert_eq!(hsm.root_kcv(), kcv);
        let attrs = hsm.root_attributes().expect("attributes");
        assert!(attrs.token && attrs.private && attrs.sensitive && attrs.always_sensitive);
        assert!(attrs.extractable && attrs.wrap_with_trusted, "{attrs:?}");
        assert!(!attrs.never_extractable);
        assert!(!attrs.modifiable);
        assert!(attrs.wrap && attrs.unwrap && !attrs.encrypt && !attrs.decrypt);

        // The user cannot read it, nor wrap it under a key the SO did not mark trusted,
        // nor mark a key trusted, nor loosen the root.
        let session = raw_session("src");
        login_user(&session);
        let root = find_root(&session);
        let value = session.get_attributes(root, &[AttributeType::Value]).expect("get");
        assert!(value.is_empty(), "CKA_VALUE readable: {value:?}");
        let untrusted = session
            .generate_key(
                &Mechanism::AesKeyGen,
                &[Attribute::Token(false), Attribute::Wrap(true), Attribute::ValueLen(32.into())],
            )
            .expect("user AES key");
        let wrapped = session.wrap_key(&Mechanism::AesKeyWrapPad, untrusted, root);
        assert!(
            matches!(wrapped, Err(CkError::Pkcs11(RvError::KeyNotWrappable, _))),
            "wrap under untrusted key: {wrapped:?}"
        );
        let trust = session.update_attributes(untrusted, &[Attribute::Trusted(true)]);
        assert!(trust.is_err(), "user marked a key trusted");
        let loosen = session.update_attributes(root, &[Attribute::WrapWithTrusted(false)]);
        assert!(loosen.is_err(), "root attributes were modifiable");
    }
}

softhsm_test! {
    fn imported_style_root_is_never_extractable(env) {
        env.init_token("tgt");
        let token = CeremonyToken::open(&env.config("tgt")).expect("token");
        ceremony::generate_root(&token, &user_pin(), RootExport::Never).expect("generate");
        let status = ceremony::root_status(&token, &user_pin()).expect("status");
        let attrs = status.attributes;
        assert!(!attrs.extractable && attrs.never_extractable && attrs.sensitive, "{attrs:?}");
        assert!(!attrs.wrap_with_trusted);
        // Not even the Security Officer's trusted keys can take it out.
        let session = raw_session("tgt");
        login_user(&session);
        let root = find_root(&session);
        let key = session
            .generate_key(
                &Mechanism::AesKeyGen,
                &[Attribute::Token(false), Attribute::Wrap(true), Attribute::ValueLen(32.into())],
            )
            .expect("user key");
        let wrapped = session.wrap_key(&Mechanism::AesKeyWrapPad, key, root);
        assert!(matches!(wrapped, Err(CkError::Pkcs11(RvError::KeyUnextractable, _))), "{wrapped:?}");
        let _ = so_pin();
    }
}

softhsm_test! {
    fn kcv_matches_software_computation_for_both_sources(env) {
        env.init_token("kcv");
        // A root with known bytes (test only: a real root is generated in the HSM).
        let known = [0x5Au8; 32];
        {
            let session = raw_session("kcv");
            login_user(&session);
            session
                .create_object(&[
                    Attribute::Class(ObjectClass::SECRET_KEY),
                    Attribute::KeyType(KeyType::AES),
                    Attribute::Token(true),
                    Attribute::Private(true),
                    Attribute::Label(b"kms-root-of-trust".to_vec()),
                    Attribute::Wrap(true),
                    Attribute::Unwrap(true),
                    Attribute::Value(known.to_vec()),
                ])
                .expect("create known root");
            session.logout().expect("logout");
        }
        let mut block = aes::Block::default();
        aes::Aes256::new(&known.into()).encrypt_block(&mut block);
        let mut config = env.config("kcv");
        config.kcv = KcvSource::CheckValue;
        let hsm = Hsm::open(&config).expect("open");
        assert_eq!(hsm.root_kcv().0, block[..3], "CKA_CHECK_VALUE is AES-ECB of zeros");
        drop(hsm);

        let config = env.config("kcv");
        assert_eq!(config.kcv, KcvSource::WrapZeroKey, "the default");
        let hsm = Hsm::open(&config).expect("open");
        let kek = aes_kw::KekAes256::from(known);
        let mut wrapped = [0u8; 40];
        kek.wrap(&[0u8; 32], &mut wrapped).expect("software wrap");
        assert_eq!(hsm.root_kcv().0, wrapped[..3], "wrap_zero_key KCV");
    }
}
