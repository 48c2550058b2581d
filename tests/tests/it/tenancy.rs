//! Tenant isolation end to end: an object of one tenant is, for another tenant, exactly like an
//! object that does not exist.

use kmip_codec::enums::{CryptographicAlgorithm, CryptographicUsageMask, ResultReason};
use kmip_codec::model::Attributes;

kms_tests::server_test! {
    async fn another_tenants_key_is_not_found(server) {
        let mut acme = server.client("acme").expect("acme").connect().await.expect("connect");
        let uid = acme
            .create_symmetric_key(
                CryptographicAlgorithm::AES,
                256,
                CryptographicUsageMask::ENCRYPT | CryptographicUsageMask::DECRYPT,
                Attributes::new(),
            )
            .await
            .expect("acme creates a key");
        acme.get(&uid, None).await.expect("acme reads its key");

        let mut globex = server.client("globex").expect("globex").connect().await.expect("connect");
        let theirs = globex.get(&uid, None).await.expect_err("globex must not read acme's key");
        let missing = globex
            .get("00000000-0000-0000-0000-000000000000", None)
            .await
            .expect_err("no such key");
        assert_eq!(theirs.result_reason(), Some(ResultReason::ITEM_NOT_FOUND));
        assert_eq!(theirs.result_reason(), missing.result_reason());
        assert_eq!(theirs.to_string(), missing.to_string().replace("00000000-0000-0000-0000-000000000000", &uid));
    }
}
