//! Property tests for the audit chain: any single edit, deletion or reordering of a record is
//! reported at that record's sequence number.
#![allow(clippy::unwrap_used)]

use proptest::prelude::*;
use tillpilot::store::AuditRecord;
use tillpilot::store::audit::{GENESIS_HASH, chain_hash, verify_chain};

fn chain(details: &[String]) -> Vec<AuditRecord> {
    let mut prev = GENESIS_HASH.to_owned();
    details
        .iter()
        .enumerate()
        .map(|(i, detail)| {
            let seq = i as i64 + 1;
            let at_ms = 1_700_000_000_000 + seq * 1_000;
            let hash = chain_hash(&prev, seq, at_ms, ["Maria", "terminal", "message.in", "stock", detail]);
            let record = AuditRecord {
                seq,
                at_ms,
                actor: "Maria".into(),
                channel: "terminal".into(),
                kind: "message.in".into(),
                subject: "stock".into(),
                detail: detail.clone(),
                prev_hash: prev.clone(),
                hash: hash.clone(),
            };
            prev = hash;
            record
        })
        .collect()
}

fn head(records: &[AuditRecord]) -> (i64, String) {
    records.last().map_or((0, GENESIS_HASH.to_owned()), |r| (r.seq, r.hash.clone()))
}

#[derive(Clone, Debug)]
enum Tamper {
    Field(usize, u8, String),
    Time(usize, i64),
    Delete(usize),
    Swap(usize, usize),
}

fn tamper() -> impl Strategy<Value = Tamper> {
    prop_oneof![
        (any::<usize>(), 0u8..7, "[a-z{}\":]{0,12}").prop_map(|(i, f, v)| Tamper::Field(i, f, v)),
        (any::<usize>(), prop_oneof![-5_000i64..-1, 1i64..5_000]).prop_map(|(i, d)| Tamper::Time(i, d)),
        any::<usize>().prop_map(Tamper::Delete),
        (any::<usize>(), any::<usize>()).prop_map(|(i, j)| Tamper::Swap(i, j)),
    ]
}

proptest! {
    #[test]
    fn an_untouched_chain_verifies(details in prop::collection::vec("[ -~]{0,40}", 0..40)) {
        let records = chain(&details);
        let (seq, hash) = head(&records);
        prop_assert_eq!(verify_chain(&records, (seq, &hash)), Ok(records.len() as u64));
    }

    #[test]
    fn any_single_change_is_caught_where_it_happened(details in prop::collection::vec("[ -~]{1,40}", 2..30), change in tamper()) {
        let mut records = chain(&details);
        let (head_seq, head_hash) = head(&records);
        let n = records.len();
        let expected = match change {
            Tamper::Field(i, field, value) => {
                let i = i % n;
                let r = &mut records[i];
                let slot = match field {
                    0 => &mut r.actor,
                    1 => &mut r.channel,
                    2 => &mut r.kind,
                    3 => &mut r.subject,
                    4 => &mut r.detail,
                    5 => &mut r.prev_hash,
                    _ => &mut r.hash,
                };
                prop_assume!(*slot != value);
                *slot = value;
                i as i64 + 1
            }
            Tamper::Time(i, delta) => {
                let i = i % n;
                records[i].at_ms += delta;
                i as i64 + 1
            }
            Tamper::Delete(i) => {
                let i = i % n;
                records.remove(i);
                i as i64 + 1
            }
            Tamper::Swap(i, j) => {
                let (i, j) = (i % n, j % n);
                prop_assume!(i != j);
                records.swap(i, j);
                i.min(j) as i64 + 1
            }
        };
        let broken = verify_chain(&records, (head_seq, &head_hash));
        prop_assert_eq!(broken.map_err(|b| b.seq), Err(expected));
    }
}
