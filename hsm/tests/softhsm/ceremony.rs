//! The key ceremony between two (and three) SoftHSM tokens, and the M-of-N backup.

use hsm::ceremony::{self, CeremonyToken, CustodianShare};
use hsm::{Error, Hsm, RootExport, SealContext};

use softhsm_support::harness::Env;
use softhsm_support::softhsm_test;

use crate::token_setup::{TestTokens, so_pin, user_pin};

/// Initialises all tokens first: SoftHSM reads its token directory once, at `C_Initialize`.
fn tokens<const N: usize>(env: &Env, labels: [&str; N]) -> [CeremonyToken; N] {
    for label in labels {
        env.init_token(label);
    }
    labels.map(|label| CeremonyToken::open(&env.config(label)).expect("ceremony token"))
}

softhsm_test! {
    fn two_tokens_end_with_the_same_root(env) {
        let [source, target] = tokens(env, ["az1", "az2"]);
        let kcv = ceremony::generate_root(&source, &user_pin(), RootExport::WrappedUnderTrustedOnly)
            .expect("init-root");

        let transport = ceremony::generate_transport_key(&target, &user_pin()).expect("keygen");
        assert!(transport.pem.starts_with("-----BEGIN PUBLIC KEY-----"));
        // The file round-trips through JSON as the CLI writes it.
        let transport: ceremony::TransportPublicKey =
            serde_json::from_str(&serde_json::to_string(&transport).expect("json")).expect("parse");

        // A wrong fingerprint (the officers' comparison failed) stops the export.
        let wrong = ceremony::export_root(&source, &so_pin(), &user_pin(), &transport, "00ff");
        assert!(matches!(wrong, Err(Error::FingerprintMismatch { .. })), "{wrong:?}");
        // So does a wrong SO PIN.
        let bad_so = secrecy::SecretString::from("wrong-so-pin");
        let denied = ceremony::export_root(&source, &bad_so, &user_pin(), &transport, &transport.fingerprint);
        assert!(matches!(denied, Err(Error::WrongPin { .. })), "{denied:?}");

        let wrapped = ceremony::export_root(&source, &so_pin(), &user_pin(), &transport, &transport.fingerprint)
            .expect("export-root");
        assert_eq!(wrapped.kcv, kcv);
        let wrapped: ceremony::WrappedRoot =
            serde_json::from_str(&serde_json::to_string(&wrapped).expect("json")).expect("parse");

        // A tampered record does not import.
        let mut tampered = wrapped.clone();
        if let Some(byte) = tampered.wrapped.get_mut(10) {
            *byte ^= 0x80;
        }
        assert!(ceremony::import_root(&target, &user_pin(), &tampered, RootExport::Never).is_err());

        let imported = ceremony::import_root(&target, &user_pin(), &wrapped, RootExport::Never)
            .expect("import-root");
        assert_eq!(imported, kcv);
        // Importing twice is refused; the transport key is gone anyway.
        assert!(matches!(
            ceremony::import_root(&target, &user_pin(), &wrapped, RootExport::Never),
            Err(Error::RootExists { .. })
        ));

        let source_status = ceremony::root_status(&source, &user_pin()).expect("status az1");
        let target_status = ceremony::root_status(&target, &user_pin()).expect("status az2");
        assert_eq!(source_status.kcv, target_status.kcv);
        assert!(target_status.attributes.sensitive && !target_status.attributes.extractable);
        // Unwrapped keys were once extractable: the token does not claim otherwise.
        assert!(!target_status.attributes.never_extractable);
        assert!(!target_status.attributes.modifiable);

        // A Domain Key wrapped by one AZ unwraps in the other; so do sealed KEKs.
        let az1 = Hsm::open(&env.config("az1")).expect("open az1");
        let az2 = Hsm::open(&env.config("az2")).expect("open az2");
        assert_eq!(az1.root_kcv(), az2.root_kcv());
        let dk = az1.create_domain_key(1).expect("dk");
        let context = SealContext { tenant: "acme", object_id: "vm-1", version: 0 };
        let sealed = az1.seal(&dk, &context, b"kek bytes kek bytes kek bytes 32").expect("seal");
        let back = az2.unseal(&dk, &context, &sealed).expect("unseal in az2");
        assert_eq!(back.expose(), b"kek bytes kek bytes kek bytes 32");
    }
}

softhsm_test! {
    fn backup_restores_from_threshold_shares_only(env) {
        let [source, fresh] = tokens(env, ["origin", "restored"]);
        let kcv = ceremony::generate_root(&source, &user_pin(), RootExport::WrappedUnderTrustedOnly)
            .expect("init-root");
        let backup = ceremony::create_backup(&source, &so_pin(), &user_pin(), 3, 5).expect("backup");
        assert_eq!(backup.shares.len(), 5);
        assert_eq!(backup.wrapped_root.kcv, kcv);
        assert!(!format!("{backup:?}").contains(&backup.shares[0].to_text()[20..]));

        // Shares travel as text.
        let texts: Vec<_> = backup.shares.iter().map(|s| s.to_text()).collect();
        let parse = |i: usize| CustodianShare::from_text(&texts[i]).expect("share");

        let two = [parse(0), parse(3)];
        let err = ceremony::restore_backup(&fresh, &user_pin(), &backup.wrapped_root, &two, RootExport::Never)
            .expect_err("two of three");
        assert!(matches!(err, Error::Shares(_)), "{err:?}");

        let dup = [parse(0), parse(0), parse(3)];
        assert!(ceremony::restore_backup(&fresh, &user_pin(), &backup.wrapped_root, &dup, RootExport::Never).is_err());

        // A corrupted share yields a different key: the unwrap's integrity check fails.
        let mut bad_text = texts[4].to_string();
        let last = bad_text.pop().expect("char");
        bad_text.push(if last == '0' { '1' } else { '0' });
        let corrupt = [parse(1), parse(2), CustodianShare::from_text(&bad_text).expect("parses")];
        let err = ceremony::restore_backup(&fresh, &user_pin(), &backup.wrapped_root, &corrupt, RootExport::Never)
            .expect_err("corrupt share");
        assert!(matches!(err, Error::Pkcs11(_, hsm::Function::UnwrapKey)), "{err:?}");
        assert!(matches!(
            Hsm::open(&env.config("restored")),
            Err(Error::RootNotFound { .. })
        ), "a failed restore left a root behind");

        let three = [parse(4), parse(1), parse(2)];
        let restored = ceremony::restore_backup(
            &fresh, &user_pin(), &backup.wrapped_root, &three, RootExport::WrappedUnderTrustedOnly,
        )
        .expect("restore");
        assert_eq!(restored, kcv);
        let status = ceremony::root_status(&fresh, &user_pin()).expect("status");
        assert!(status.attributes.wrap_with_trusted && status.attributes.sensitive);
    }
}
