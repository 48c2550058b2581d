//! Obtain Lease, Get Usage Allocation, Archive and Recover (issue 19) over real TLS against a
//! real server: the lease answers the server's Lease Time and the object's Last Change Date;
//! an allocation is taken from the Usage Limits in the replicated record (and what is left
//! shows in Get Attributes), refused beyond it, for an object without limits, for a count of
//! 0 and for an object not Active; Archive and Recover acknowledge an object of the tenant
//! (every object stays online) and refuse a destroyed one; another tenant's object is answered
//! as a missing one by all four.

use client::{ClientError, Connection};
use kmip_codec::enums::{CryptographicUsageMask, ResultReason, UsageLimitsUnit};
use kmip_codec::model::{
    ArchiveRequest, Attribute, AttributeName, AttributeValue, GetUsageAllocationRequest,
    ObtainLeaseRequest, RecoverRequest, RequestPayload, ResponsePayload, UsageLimits,
};
use kmip_codec::tags::Tag;

use crate::wrapped_keys::{connect_as, reason, register_plain};

async fn allocate(conn: &mut Connection, uid: &str, count: i64) -> Result<(), ClientError> {
    conn.call(
        RequestPayload::GetUsageAllocation(GetUsageAllocationRequest {
            unique_identifier: Some(uid.to_owned()),
            usage_limits_count: count,
        }),
        |p| match p {
            ResponsePayload::GetUsageAllocation(_) => Some(()),
            _ => None,
        },
    )
    .await
}

async fn lease(conn: &mut Connection, uid: &str) -> Result<(u32, i64), ClientError> {
    conn.call(
        RequestPayload::ObtainLease(ObtainLeaseRequest {
            unique_identifier: Some(uid.to_owned()),
        }),
        |p| match p {
            ResponsePayload::ObtainLease(r) => Some((r.lease_time, r.last_change_date)),
            _ => None,
        },
    )
    .await
}

async fn archive(conn: &mut Connection, uid: &str) -> Result<String, ClientError> {
    conn.call(
        RequestPayload::Archive(ArchiveRequest {
            unique_identifier: Some(uid.to_owned()),
        }),
        |p| match p {
            ResponsePayload::Archive(r) => Some(r.unique_identifier),
            _ => None,
        },
    )
    .await
}

async fn recover(conn: &mut Connection, uid: &str) -> Result<String, ClientError> {
    conn.call(
        RequestPayload::Recover(RecoverRequest {
            unique_identifier: Some(uid.to_owned()),
        }),
        |p| match p {
            ResponsePayload::Recover(r) => Some(r.unique_identifier),
            _ => None,
        },
    )
    .await
}

/// What is left of `uid`'s Usage Limits.
async fn left(conn: &mut Connection, uid: &str) -> Option<i64> {
    let got = conn
        .get_attributes(uid, vec![AttributeName::Standard(Tag::USAGE_LIMITS)])
        .await
        .expect("get attributes");
    got.get(Tag::USAGE_LIMITS).and_then(|v| match v {
        AttributeValue::UsageLimits(u) => u.count,
        _ => None,
    })
}

kms_tests::server_test! {
    async fn leases_allocations_and_archives_answer_per_the_spec(server) {
        let mut conn = connect_as(server, "acme").await;
        let mut other = connect_as(server, "globex").await;
        let key = register_plain(&mut conn, &[5; 32], CryptographicUsageMask::ENCRYPT).await;

        let (time, changed) = lease(&mut conn, &key).await.expect("obtain lease");
        assert_eq!(time, 3600, "the server's Lease Time");
        let attrs = conn.get_attributes(&key, vec![AttributeName::Standard(Tag::LAST_CHANGE_DATE)]).await.expect("attributes");
        assert_eq!(attrs.get(Tag::LAST_CHANGE_DATE).and_then(|v| v.as_datetime()), Some(changed), "the object's Last Change Date");

        let e = allocate(&mut conn, &key, 10).await.expect_err("no usage limits");
        assert_eq!(reason(&e), Some(ResultReason::INVALID_FIELD), "{e}");
        conn.add_attribute(&key, Attribute::new(Tag::USAGE_LIMITS, AttributeValue::UsageLimits(UsageLimits {
            total: 100,
            count: None,
            unit: UsageLimitsUnit::BYTE,
        })))
        .await
        .expect("usage limits");
        allocate(&mut conn, &key, 60).await.expect("60 of 100");
        assert_eq!(left(&mut conn, &key).await, Some(40), "the allocation is taken from the count");
        let e = allocate(&mut conn, &key, 50).await.expect_err("50 of 40");
        assert_eq!(reason(&e), Some(ResultReason::PERMISSION_DENIED), "{e}");
        assert_eq!(left(&mut conn, &key).await, Some(40), "a refused allocation takes nothing");
        let e = allocate(&mut conn, &key, 0).await.expect_err("a count of 0");
        assert_eq!(reason(&e), Some(ResultReason::INVALID_FIELD), "{e}");
        let idle = conn.create_symmetric_key(kmip_codec::enums::CryptographicAlgorithm::AES, 256, CryptographicUsageMask::ENCRYPT, kmip_codec::model::Attributes::new()).await.expect("pre-active key");
        let e = allocate(&mut conn, &idle, 1).await.expect_err("pre-active");
        assert_eq!(reason(&e), Some(ResultReason::WRONG_KEY_LIFECYCLE_STATE), "{e}");

        assert_eq!(archive(&mut conn, &key).await.expect("archive"), key);
        assert_eq!(recover(&mut conn, &key).await.expect("recover"), key);
        conn.destroy(&idle).await.expect("destroy");
        let e = archive(&mut conn, &idle).await.expect_err("archive a destroyed key");
        assert_eq!(reason(&e), Some(ResultReason::OBJECT_DESTROYED), "{e}");

        // Another tenant's object, for every one of the four, exactly like a missing one.
        for uid in [key.as_str(), "no-such-uid"] {
            let answers = [
                reason(&lease(&mut other, uid).await.expect_err("lease")),
                reason(&allocate(&mut other, uid, 1).await.expect_err("allocate")),
                reason(&archive(&mut other, uid).await.expect_err("archive")),
                reason(&recover(&mut other, uid).await.expect_err("recover")),
            ];
            assert_eq!(answers, [Some(ResultReason::OBJECT_NOT_FOUND); 4], "{uid}");
        }
        assert_eq!(left(&mut conn, &key).await, Some(40), "the other tenant took nothing");
    }
}
