//! The byte budget an answer is built in: the smaller of the server's
//! `limits.max_response_size` and the request's Maximum Response Size (KMIP 1.4 section
//! 6.3), counted in encoded bytes as each batch item is answered, so an answer that would be
//! too large is cut while it is built, before its memory is spent. An item that does not fit
//! is answered Response Too Large (KMIP 1.4 section 11, "Maximum Response Size has been
//! exceeded"); room is always kept for that answer to every later item, so the whole
//! response stays within the budget.
//!
//! The bytes are also drawn from the node's pool of in-flight memory
//! ([`crate::quota::memory`]), which the connection returns once the answer is written.

use kmip_codec::model::{RequestHeader, ResponseHeader, ResponseMessage};
use kmip_codec::version::ProtocolVersion;

use super::OpError;
use crate::quota::memory::MessageMemory;

/// The budget of one answer.
pub(crate) struct ResponseBudget<'m> {
    limit: usize,
    used: usize,
    memory: &'m mut MessageMemory,
}

impl<'m> ResponseBudget<'m> {
    /// The budget of the answer to a request with `header`, answered in `version`; the
    /// message's own fields (header, batch count) are counted from the start.
    pub(crate) fn new(
        server_max: usize,
        header: &RequestHeader,
        version: ProtocolVersion,
        now: i64,
        memory: &'m mut MessageMemory,
    ) -> Self {
        // A Maximum Response Size below zero means nothing; it is ignored.
        let client_max = header
            .maximum_response_size
            .and_then(|m| usize::try_from(m).ok());
        let limit = client_max.map_or(server_max, |c| c.min(server_max));
        let used = ResponseMessage::new(ResponseHeader::new(version, now), Vec::new())
            .encoded_len(version);
        Self {
            limit,
            used,
            memory,
        }
    }

    /// The largest answer allowed, in bytes.
    pub(crate) fn limit(&self) -> usize {
        self.limit
    }

    /// Bytes the next item may take while `reserve` bytes stay kept for the items after it,
    /// no more than the node's in-flight pool can give now. When that is no more than
    /// `least` (what refusing the item costs), the item is not worth running: Response Too
    /// Large when the budget is spent, Server Busy when the pool is.
    pub(crate) fn room(&self, reserve: usize, least: usize) -> Result<usize, OpError> {
        let room = self.limit.saturating_sub(self.used.saturating_add(reserve));
        if room <= least {
            return Err(OpError::ResponseTooLarge);
        }
        let pool = self.memory.available();
        if pool <= least {
            return Err(OpError::ServerBusy);
        }
        Ok(room.min(pool))
    }

    /// Counts a successful item of `bytes`, keeping `reserve` for the items after it:
    /// Response Too Large when it does not fit the budget, Server Busy when the node's pool
    /// has no room for it now.
    pub(crate) fn take(&mut self, bytes: usize, reserve: usize) -> Result<(), OpError> {
        if self.used.saturating_add(bytes).saturating_add(reserve) > self.limit {
            return Err(OpError::ResponseTooLarge);
        }
        if !self.memory.try_grow(bytes) {
            return Err(OpError::ServerBusy);
        }
        self.used += bytes;
        Ok(())
    }

    /// Counts a failed item: it is answered whatever the budget (its room was kept), and
    /// drawn from the pool if the pool has room.
    pub(crate) fn take_failure(&mut self, bytes: usize) {
        let _ = self.memory.try_grow(bytes);
        self.used = self.used.saturating_add(bytes);
    }
}

#[cfg(test)]
mod tests {
    use kmip_codec::model::{RequestHeader, ResponseBatchItem};
    use kmip_codec::version::ProtocolVersion;

    use super::ResponseBudget;
    use crate::ops::OpError;
    use crate::quota::memory::MemoryPool;

    const V: ProtocolVersion = ProtocolVersion::V1_4;

    #[test]
    fn the_smaller_maximum_wins_and_room_is_kept_for_later_refusals() {
        let pool = MemoryPool::new(1 << 20);
        let mut memory = pool.connection();
        let mut header = RequestHeader::new(V);
        header.maximum_response_size = Some(1000);
        let mut budget = ResponseBudget::new(4096, &header, V, 0, &mut memory);
        assert_eq!(budget.limit(), 1000, "the client's smaller maximum");
        let start = 1000 - budget.room(0, 0).unwrap();
        assert!(start > 0, "the message's own fields are counted");
        assert!(matches!(
            budget.take(1000 - start + 1, 0),
            Err(OpError::ResponseTooLarge)
        ));
        budget.take(500, 100).expect("fits with room kept");
        assert_eq!(budget.room(100, 0).unwrap(), 1000 - start - 500 - 100);
        assert!(matches!(
            budget.take(1000 - start - 500 - 99, 100),
            Err(OpError::ResponseTooLarge)
        ));
        budget.take_failure(100);
        let left = 1000 - start - 600;
        assert_eq!(budget.room(0, 0).unwrap(), left);
        assert!(
            matches!(budget.room(0, left), Err(OpError::ResponseTooLarge)),
            "no room for more than a refusal"
        );

        header.maximum_response_size = Some(-5);
        let budget = ResponseBudget::new(4096, &header, V, 0, &mut memory);
        assert_eq!(budget.limit(), 4096, "a negative maximum means nothing");
    }

    #[test]
    fn a_spent_pool_answers_server_busy_and_limits_the_room() {
        let pool = MemoryPool::new(8 * 1024);
        let mut other = pool.connection();
        assert!(other.try_grow(6 * 1024));
        let mut memory = pool.connection();
        let header = RequestHeader::new(V);
        let mut budget = ResponseBudget::new(1 << 20, &header, V, 0, &mut memory);
        assert_eq!(
            budget.room(0, 0).unwrap(),
            2 * 1024,
            "no more than the pool has"
        );
        assert!(matches!(budget.take(4 * 1024, 0), Err(OpError::ServerBusy)));
        budget.take(1024, 0).expect("fits the pool");
        assert!(matches!(budget.room(0, 1024), Err(OpError::ServerBusy)));
    }

    #[test]
    fn a_refusal_costs_what_the_encoder_writes() {
        let item = ResponseBatchItem {
            operation: Some(kmip_codec::enums::Operation::LOCATE),
            unique_batch_item_id: Some(vec![1, 2, 3, 4]),
            result_status: kmip_codec::enums::ResultStatus::OPERATION_FAILED,
            result_reason: Some(kmip_codec::enums::ResultReason::RESPONSE_TOO_LARGE),
            result_message: Some("response too large".to_owned()),
            asynchronous_correlation_value: None,
            payload: None,
            message_extensions: Vec::new(),
        };
        // 8 (item) + 16 (operation) + 16 (ID) + 16 (status) + 16 (reason) + 32 (message).
        assert_eq!(item.encoded_len(V), 104);
    }
}
