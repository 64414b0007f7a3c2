//! Durability: `kill -9` in the middle of a burst of writes loses no acknowledged message and
//! leaves every conversation's indexes gap-free; actors reload their state after a restart.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use crate::harness::TestServer;

#[test]
fn kill_9_during_a_write_burst_loses_no_acknowledged_message() {
    let mut s = TestServer::spawn();
    let conversations: Vec<String> = (0..4).map(|_| s.conversation(&[])).collect();
    let acked: Mutex<Vec<(String, u64, String)>> = Mutex::new(Vec::new());
    let count = AtomicUsize::new(0);
    let stop = AtomicBool::new(false);
    let pid = s.pid();
    std::thread::scope(|scope| {
        for t in 0..6 {
            let (s, conversations, acked, count, stop) =
                (&s, &conversations, &acked, &count, &stop);
            scope.spawn(move || {
                let mut i = 0;
                while !stop.load(Ordering::Relaxed) && i < 2000 {
                    let c = &conversations[(t + i) % conversations.len()];
                    let body = format!("t{t}-m{i}");
                    match s.try_post(&format!("/Conversations/{c}/Messages"), &[("Body", &body)]) {
                        Some(r) if r.status == 201 => {
                            let index = r.body["index"].as_u64().expect("index");
                            acked.lock().expect("lock").push((c.clone(), index, body));
                            count.fetch_add(1, Ordering::Relaxed);
                        }
                        Some(r) => panic!(
                            "unexpected answer before the crash: {} {}",
                            r.status, r.body
                        ),
                        None => break, // the server is gone
                    }
                    i += 1;
                }
            });
        }
        // Crash once a good number of writes were acknowledged, while the rest are in flight.
        crate::harness::eventually(std::time::Duration::from_secs(60), || {
            (count.load(Ordering::Relaxed) >= 300).then_some(())
        });
        let status = std::process::Command::new("kill")
            .args(["-9", &pid.to_string()])
            .status()
            .expect("kill");
        assert!(status.success());
        stop.store(true, Ordering::Relaxed);
    });
    s.restart();

    let acked = acked.into_inner().expect("lock");
    assert!(acked.len() >= 300);
    for c in &conversations {
        let stored = s.list_all(
            &format!("/Conversations/{c}/Messages?PageSize=1000"),
            "messages",
        );
        let indexes: Vec<u64> = stored
            .iter()
            .map(|m| m["index"].as_u64().expect("index"))
            .collect();
        let expected: Vec<u64> = (0..indexes.len() as u64).collect();
        assert_eq!(
            indexes, expected,
            "conversation {c}: gap-free after the crash"
        );
        for (_, index, body) in acked.iter().filter(|(conv, _, _)| conv == c) {
            let m = &stored[*index as usize];
            assert_eq!(
                m["body"],
                body.as_str(),
                "acknowledged message {index} survived"
            );
        }
        // The reloaded actor continues right after the last stored index.
        let next = s
            .post(
                &format!("/Conversations/{c}/Messages"),
                &[("Body", "after")],
            )
            .expect(201);
        assert_eq!(next["index"], indexes.len() as u64);
    }
}
