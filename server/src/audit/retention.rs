//! Which old segments retention removes: beyond a count (`retain_segments`, also a floor:
//! at least that many stay), older than an age (`retain_days`) and beyond a total size
//! (`retain_bytes`), whichever asks for most. A cut is made only before a segment that starts
//! where a stored checkpoint ends (every removed record is covered by a signature and the
//! first kept one continues from a signed head), so the age and size limits round up to the
//! next such segment; never a record not yet delivered to the SIEM, never the newest segment.

use std::collections::BTreeSet;
use std::time::{Duration, SystemTime};

/// What retention keeps (0 turns a rule off).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Rules {
    /// Keep at least this many segments.
    pub segments: usize,
    /// Keep segments written within this many days.
    pub days: u32,
    /// Keep at most this many bytes of segments (the newest segments that fit, at least one).
    pub bytes: u64,
}

impl Rules {
    /// Whether any rule is on.
    pub fn any(&self) -> bool {
        self.segments > 0 || self.days > 0 || self.bytes > 0
    }
}

/// One segment as retention sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Segment {
    /// Sequence number of its first record.
    pub first: u64,
    /// Size in bytes.
    pub bytes: u64,
    /// When it was last written.
    pub modified: SystemTime,
}

/// How many of the oldest `segments` (sorted by `first`) to remove. `boundaries` are the
/// sequence numbers right after stored checkpoints; `hold` is the first record forwarding
/// still needs (0: none).
pub fn removable(
    segments: &[Segment],
    rules: Rules,
    boundaries: &BTreeSet<u64>,
    hold: u64,
    now: SystemTime,
) -> usize {
    if !rules.any() || segments.len() < 2 {
        return 0;
    }
    let by_count = if rules.segments > 0 {
        segments.len().saturating_sub(rules.segments)
    } else {
        0
    };
    let by_age = if rules.days > 0 {
        let limit = Duration::from_secs(u64::from(rules.days) * 86_400);
        segments
            .iter()
            .take_while(|s| now.duration_since(s.modified).is_ok_and(|age| age > limit))
            .count()
    } else {
        0
    };
    let by_size = if rules.bytes > 0 {
        let mut total: u64 = segments.iter().map(|s| s.bytes).sum();
        let mut n = 0;
        for s in segments {
            if total <= rules.bytes {
                break;
            }
            total = total.saturating_sub(s.bytes);
            n += 1;
        }
        n
    } else {
        0
    };
    let wanted = by_count.max(by_age).max(by_size);
    // Cut before segment k: it must start at a checkpoint, hold nothing forwarding needs
    // behind it, and leave the newest segment and at least `segments` of them.
    let mut most = segments.len() - 1;
    if rules.segments > 0 {
        most = most.min(segments.len().saturating_sub(rules.segments));
    }
    let cuts: Vec<usize> = (1..=most)
        .filter(|&k| {
            segments
                .get(k)
                .is_some_and(|s| boundaries.contains(&s.first) && (hold == 0 || s.first <= hold))
        })
        .collect();
    // The first cut that removes all that is wanted (the size and age limits are bounds),
    // else the furthest one short of it.
    cuts.iter()
        .find(|&&k| k >= wanted)
        .or_else(|| cuts.iter().rev().find(|&&k| k < wanted))
        .copied()
        .filter(|_| wanted > 0)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: Duration = Duration::from_secs(86_400);

    /// Segments starting at 1, 11, 21, ... of 100 bytes each, segment i written i days after
    /// the epoch of the test.
    fn segments(n: u64) -> Vec<Segment> {
        (0..n)
            .map(|i| Segment {
                first: 1 + 10 * i,
                bytes: 100,
                modified: SystemTime::UNIX_EPOCH + DAY * u32::try_from(i).unwrap(),
            })
            .collect()
    }

    fn all_boundaries(n: u64) -> BTreeSet<u64> {
        (0..n).map(|i| 1 + 10 * i).collect()
    }

    #[test]
    fn no_rule_removes_nothing() {
        let s = segments(5);
        let now = SystemTime::UNIX_EPOCH + DAY * 100;
        assert_eq!(
            removable(&s, Rules::default(), &all_boundaries(5), 0, now),
            0
        );
    }

    #[test]
    fn each_rule_alone_and_the_strictest_wins() {
        let s = segments(10);
        let b = all_boundaries(10);
        let now = SystemTime::UNIX_EPOCH + DAY * 10;
        let count = Rules {
            segments: 4,
            ..Rules::default()
        };
        assert_eq!(removable(&s, count, &b, 0, now), 6);
        // segments 0..=6 were written more than 3 days before day 10
        let age = Rules {
            days: 3,
            ..Rules::default()
        };
        assert_eq!(removable(&s, age, &b, 0, now), 7);
        let size = Rules {
            bytes: 250,
            ..Rules::default()
        };
        assert_eq!(removable(&s, size, &b, 0, now), 8);
        let all = Rules {
            segments: 2,
            days: 3,
            bytes: 950,
        };
        assert_eq!(removable(&s, all, &b, 0, now), 8);
        // the count is also a floor: at least 9 stay, whatever the age and size say
        let floor = Rules {
            segments: 9,
            days: 3,
            bytes: 250,
        };
        assert_eq!(removable(&s, floor, &b, 0, now), 1);
    }

    #[test]
    fn the_newest_segment_always_stays_even_when_over_the_size() {
        let s = segments(3);
        let rules = Rules {
            bytes: 1,
            ..Rules::default()
        };
        let now = SystemTime::UNIX_EPOCH;
        assert_eq!(removable(&s, rules, &all_boundaries(3), 0, now), 2);
    }

    #[test]
    fn a_size_limit_cuts_at_the_next_checkpoint_past_it_and_a_count_floor_holds() {
        let s = segments(10);
        let now = SystemTime::UNIX_EPOCH;
        // 250 bytes wants 8 segments gone; the only checkpoint after that starts segment 9
        let b: BTreeSet<u64> = [41, 91].into();
        let size = Rules {
            bytes: 250,
            ..Rules::default()
        };
        assert_eq!(removable(&s, size, &b, 0, now), 9);
        // keeping at least 3 segments stops it at the checkpoint before
        let floor = Rules {
            bytes: 250,
            segments: 3,
            ..Rules::default()
        };
        assert_eq!(removable(&s, floor, &b, 0, now), 4);
    }

    #[test]
    fn the_cut_waits_for_a_checkpoint_and_for_forwarding() {
        let s = segments(10);
        let rules = Rules {
            segments: 2,
            ..Rules::default()
        };
        let now = SystemTime::UNIX_EPOCH;
        // only segment 4 (first record 41) starts at a checkpoint
        let b: BTreeSet<u64> = [41].into();
        assert_eq!(removable(&s, rules, &b, 0, now), 4);
        assert_eq!(removable(&s, rules, &BTreeSet::new(), 0, now), 0);
        // forwarding still needs record 25: nothing from segment 2 (21..30) on may go
        assert_eq!(removable(&s, rules, &all_boundaries(10), 25, now), 2);
    }
}
