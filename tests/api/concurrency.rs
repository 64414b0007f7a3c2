//! Concurrent writers on one conversation: indexes stay unique and gap-free.

use crate::harness::TestServer;

#[test]
fn concurrent_message_creation_yields_gap_free_unique_indexes() {
    let s = TestServer::spawn();
    let c = s.conversation(&[]);
    let path = format!("/Conversations/{c}/Messages");
    const THREADS: usize = 8;
    const EACH: usize = 25;
    let mut acked: Vec<u64> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..THREADS)
            .map(|t| {
                let (s, path) = (&s, &path);
                scope.spawn(move || {
                    (0..EACH)
                        .map(|i| {
                            s.post(path, &[("Body", &format!("{t}-{i}"))]).expect(201)["index"]
                                .as_u64()
                                .expect("index")
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("thread"))
            .collect()
    });
    acked.sort_unstable();
    let expected: Vec<u64> = (0..(THREADS * EACH) as u64).collect();
    assert_eq!(acked, expected, "acknowledged indexes are exactly 0..N");
    let stored: Vec<u64> = s
        .list_all(&format!("{path}?PageSize=100"), "messages")
        .iter()
        .map(|m| m["index"].as_u64().expect("index"))
        .collect();
    assert_eq!(stored, expected, "stored in index order, gap-free");
}
