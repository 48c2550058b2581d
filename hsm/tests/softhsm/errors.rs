//! Wrong PIN, missing module, missing token, missing root: clear typed errors.

use hsm::{Error, Hsm, HsmConfig, PinError, PinSource};

use softhsm_support::softhsm_test;

use crate::token_setup::{TestTokens, USER_PIN, module};

#[test]
fn missing_module_is_a_module_load_error() {
    let config = HsmConfig::new(
        "/nonexistent/kms/libpkcs11.so",
        "any",
        PinSource::Env("PATH".to_owned()),
    );
    let err = Hsm::open(&config).expect_err("no module");
    assert!(matches!(err, Error::ModuleLoad { .. }), "{err:?}");
    assert!(err.to_string().contains("/nonexistent/kms/libpkcs11.so"));
}

softhsm_test! {
    fn missing_token_is_token_not_found(env) {
        env.init_token("present");
        let err = Hsm::open(&env.config("absent")).expect_err("no token");
        assert!(matches!(&err, Error::TokenNotFound { label, .. } if label == "absent"), "{err:?}");
    }
}

softhsm_test! {
    fn wrong_pin_is_wrong_pin_and_not_echoed(env) {
        env.init_token("pins");
        let pin_file = env.dir().join("wrong.pin");
        std::fs::write(&pin_file, "not-the-pin-4711").expect("write");
        let mut config = env.config("pins");
        config.pin_file = Some(pin_file);
        let err = Hsm::open(&config).expect_err("wrong pin");
        assert!(matches!(err, Error::WrongPin { .. }), "{err:?}");
        let shown = format!("{err} {err:?}");
        assert!(!shown.contains("not-the-pin-4711") && !shown.contains(USER_PIN), "{shown}");
    }
}

softhsm_test! {
    fn token_without_root_is_root_not_found(env) {
        env.init_token("bare");
        let err = Hsm::open(&env.config("bare")).expect_err("no root");
        assert!(matches!(err, Error::RootNotFound { .. }), "{err:?}");
    }
}

softhsm_test! {
    fn unset_pin_variable_is_a_pin_error(env) {
        env.init_token("envpin");
        let config = HsmConfig::new(
            module(),
            "envpin",
            PinSource::Env("KMS_HSM_TEST_PIN_SURELY_UNSET".to_owned()),
        );
        let err = Hsm::open(&config).expect_err("no pin");
        assert!(matches!(err, Error::Pin(PinError::EnvUnset { .. })), "{err:?}");
    }
}
