//! Flex Interactions over REST against the real server: inbound (bound conversation) and
//! outbound (created conversation) interactions, routing straight to a worker, the accept hook
//! (agent joins the conversation, agent channel participant), participant close and wrapup,
//! channel close variants, invites, cold/warm/failed transfers, conversation close settling
//! tasks, and error bodies.

use std::time::Duration;

use serde_json::{Value, json};

use crate::harness::{TestServer, eventually};

const WAIT: Duration = Duration::from_secs(10);

fn flex(path: &str) -> String {
    format!("/flex-api/v1{path}")
}

/// The default ("Flex Task Assignment") workspace path.
fn workspace(s: &TestServer) -> (String, String) {
    let list = s.get("/taskrouter/v1/Workspaces").expect(200);
    let ws = list["workspaces"]
        .as_array()
        .expect("workspaces")
        .iter()
        .find(|w| w["friendly_name"] == "Flex Task Assignment")
        .expect("default workspace");
    let sid = ws["sid"].as_str().expect("sid").to_owned();
    (format!("/taskrouter/v1/Workspaces/{sid}"), sid)
}

/// An available worker with a `contact_uri`; returns its SID.
fn worker(s: &TestServer, ws: &str, name: &str) -> String {
    let acts = s
        .get(&format!("{ws}/Activities?FriendlyName=Available"))
        .expect(200);
    let available = acts["activities"][0]["sid"].as_str().expect("activity");
    let attrs = json!({"contact_uri": format!("client:{name}")}).to_string();
    s.post(
        &format!("{ws}/Workers"),
        &[
            ("FriendlyName", name),
            ("Attributes", &attrs),
            ("ActivitySid", available),
        ],
    )
    .expect(201)["sid"]
        .as_str()
        .expect("worker")
        .to_owned()
}

fn task(s: &TestServer, ws: &str, task: &str) -> Value {
    s.get(&format!("{ws}/Tasks/{task}")).expect(200)
}

fn task_status(s: &TestServer, ws: &str, sid: &str) -> String {
    task(s, ws, sid)["assignment_status"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

fn wait_status(s: &TestServer, ws: &str, sid: &str, want: &str) {
    eventually(WAIT, || (task_status(s, ws, sid) == want).then_some(()));
}

/// Waits for the task's pending reservation and accepts it; returns the reservation SID.
fn accept(s: &TestServer, ws: &str, task: &str) -> String {
    let wr = eventually(WAIT, || {
        let list = s
            .get(&format!("{ws}/Tasks/{task}/Reservations"))
            .expect(200);
        list["reservations"]
            .as_array()?
            .iter()
            .find(|r| r["reservation_status"] == "pending")
            .and_then(|r| r["sid"].as_str().map(str::to_owned))
    });
    s.post(
        &format!("{ws}/Tasks/{task}/Reservations/{wr}"),
        &[("ReservationStatus", "accepted")],
    )
    .expect(200);
    wr
}

fn identities(s: &TestServer, conversation: &str) -> Vec<String> {
    let list = s
        .get(&format!("/Conversations/{conversation}/Participants"))
        .expect(200);
    list["participants"]
        .as_array()
        .expect("participants")
        .iter()
        .filter_map(|p| p["identity"].as_str().map(str::to_owned))
        .collect()
}

fn conversation_state(s: &TestServer, conversation: &str) -> String {
    s.get(&format!("/Conversations/{conversation}")).expect(200)["state"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

/// An inbound sms interaction bound to a new conversation, routed to `worker`.
struct Inbound {
    kd: String,
    uo: String,
    ch: String,
    wt: String,
}

impl Inbound {
    fn channel(&self) -> String {
        flex(&format!("/Interactions/{}/Channels/{}", self.kd, self.uo))
    }
}

fn inbound(s: &TestServer, ws_sid: &str, worker: &str, customer: &str) -> (Inbound, Value) {
    let ch = s.conversation(&[]);
    s.post(
        &format!("/Conversations/{ch}/Participants"),
        &[
            ("MessagingBinding.Address", customer),
            ("MessagingBinding.ProxyAddress", "+15559990000"),
        ],
    )
    .expect(201);
    let channel = json!({"type": "sms", "initiated_by": "Customer",
        "properties": {"media_channel_sid": ch}});
    let routing = json!({"properties": {"workspace_sid": ws_sid, "worker_sid": worker,
        "attributes": {"topic": "billing"}}});
    let body = s
        .post(
            &flex("/Interactions"),
            &[
                ("Channel", &channel.to_string()),
                ("Routing", &routing.to_string()),
            ],
        )
        .expect(200);
    let i = Inbound {
        kd: body["sid"].as_str().expect("KD").to_owned(),
        uo: body["channel"]["sid"].as_str().expect("UO").to_owned(),
        ch,
        wt: body["routing"]["properties"]["sid"]
            .as_str()
            .expect("WT")
            .to_owned(),
    };
    (i, body)
}

fn agents(s: &TestServer, i: &Inbound) -> Vec<Value> {
    let list = s.get(&format!("{}/Participants", i.channel())).expect(200);
    assert_eq!(list["meta"]["key"], "participants");
    list["participants"]
        .as_array()
        .expect("participants")
        .iter()
        .filter(|p| p["type"] == "agent")
        .cloned()
        .collect()
}

#[test]
fn inbound_accept_invite_wrapup_and_participant_close() {
    let s = TestServer::spawn();
    let (ws, ws_sid) = workspace(&s);
    let alice = worker(&s, &ws, "alice");
    let (i, body) = inbound(&s, &ws_sid, &alice, "+15551230001");

    assert!(i.kd.starts_with("KD") && i.uo.starts_with("UO"));
    assert_eq!(body["channel"]["type"], "sms");
    let props = &body["routing"]["properties"];
    assert!(props["date_created"].is_i64(), "epoch dates: {props}");
    assert_eq!(props["routing_target"], alice.as_str());
    assert_eq!(props["task_channel_unique_name"], "sms");
    let attrs: Value =
        serde_json::from_str(props["attributes"].as_str().expect("text")).expect("json");
    assert_eq!(attrs["conversationSid"], i.ch.as_str());
    assert_eq!(attrs["topic"], "billing");
    assert_eq!(attrs["direction"], "inbound");
    assert_eq!(attrs["initiatedBy"], "customer");
    assert_eq!(attrs["customerAddress"], "+15551230001");
    assert_eq!(attrs["flexInteractionSid"], i.kd.as_str());
    assert_eq!(attrs["flexInteractionChannelSid"], i.uo.as_str());
    assert!(
        attrs["flexChannelInviteSid"]
            .as_str()
            .is_some_and(|k| k.starts_with("KG"))
    );
    assert_eq!(attrs["conversations"]["media"][0]["sid"], i.ch.as_str());

    let fetched = s.get(&flex(&format!("/Interactions/{}", i.kd))).expect(200);
    assert_eq!(fetched["channel"]["sid"], i.uo.as_str());
    let channels = s
        .get(&flex(&format!("/Interactions/{}/Channels", i.kd)))
        .expect(200);
    assert_eq!(channels["meta"]["key"], "channels");
    assert_eq!(channels["channels"][0]["status"], "active");
    let task_attrs: Value =
        serde_json::from_str(task(&s, &ws, &i.wt)["attributes"].as_str().expect("attrs"))
            .expect("json");
    assert_eq!(task_attrs["conversationSid"], i.ch.as_str());

    // Accept: alice joins the conversation and the channel as an agent.
    let wr = accept(&s, &ws, &i.wt);
    assert!(identities(&s, &i.ch).contains(&"alice".to_owned()));
    let a = agents(&s, &i);
    assert_eq!(a.len(), 1);
    assert_eq!(a[0]["routing_properties"]["reservation_sid"], wr.as_str());
    assert_eq!(a[0]["routing_properties"]["task_sid"], i.wt.as_str());
    let ut_alice = a[0]["sid"].as_str().expect("UT").to_owned();

    // Invite a second agent.
    let bob = worker(&s, &ws, "bob");
    let routing = json!({"properties": {"workspace_sid": ws_sid, "worker_sid": bob,
        "attributes": {"reason": "second opinion"}}});
    let invite = s
        .post(
            &format!("{}/Invites", i.channel()),
            &[("Routing", &routing.to_string())],
        )
        .expect(200);
    assert!(invite["sid"].as_str().is_some_and(|k| k.starts_with("KG")));
    let wt2 = invite["routing"]["properties"]["sid"]
        .as_str()
        .expect("WT")
        .to_owned();
    let invites = s.get(&format!("{}/Invites", i.channel())).expect(200);
    assert_eq!(invites["invites"].as_array().map(Vec::len), Some(2));
    accept(&s, &ws, &wt2);
    assert!(identities(&s, &i.ch).contains(&"bob".to_owned()));
    let a = agents(&s, &i);
    assert_eq!(a.len(), 2);
    let ut_bob = a
        .iter()
        .find(|p| p["routing_properties"]["worker_sid"] == bob.as_str())
        .and_then(|p| p["sid"].as_str())
        .expect("bob's UT")
        .to_owned();

    // Bob wraps up; alice leaves (park): task completed, conversation stays active.
    s.post(
        &format!("{}/Participants/{ut_bob}", i.channel()),
        &[("Status", "wrapup")],
    )
    .expect(200);
    wait_status(&s, &ws, &wt2, "wrapping");
    let closed = s
        .post(
            &format!("{}/Participants/{ut_alice}", i.channel()),
            &[("Status", "closed")],
        )
        .expect(200);
    assert_eq!(closed["status"], "closed");
    wait_status(&s, &ws, &i.wt, "completed");
    assert_eq!(conversation_state(&s, &i.ch), "active");
    assert!(!identities(&s, &i.ch).contains(&"alice".to_owned()));
}

#[test]
fn outbound_creates_the_conversation_and_closing_completes() {
    let s = TestServer::spawn();
    let (ws, ws_sid) = workspace(&s);
    let alice = worker(&s, &ws, "alice");
    let channel = json!({"type": "sms", "initiated_by": "agent",
        "participants": [{"address": "+15551230002", "proxy_address": "+15559990000"}]});
    let routing = json!({"properties": {"workspace_sid": ws_sid, "worker_sid": alice,
        "task_channel_unique_name": "sms"}});
    let body = s
        .post(
            &flex("/Interactions"),
            &[
                ("Channel", &channel.to_string()),
                ("Routing", &routing.to_string()),
            ],
        )
        .expect(200);
    let props = &body["routing"]["properties"];
    assert_eq!(props["routing_target"], alice.as_str());
    let attrs: Value =
        serde_json::from_str(props["attributes"].as_str().expect("attrs")).expect("json");
    assert_eq!(attrs["direction"], "outbound");
    let ch = attrs["conversationSid"].as_str().expect("CH").to_owned();
    let parts = s
        .get(&format!("/Conversations/{ch}/Participants"))
        .expect(200);
    assert_eq!(
        parts["participants"][0]["messaging_binding"]["address"],
        "+15551230002"
    );
    let wt = props["sid"].as_str().expect("WT").to_owned();
    accept(&s, &ws, &wt);
    assert!(identities(&s, &ch).contains(&"alice".to_owned()));

    let kd = body["sid"].as_str().expect("KD");
    let uo = body["channel"]["sid"].as_str().expect("UO");
    let closed = s
        .post(
            &flex(&format!("/Interactions/{kd}/Channels/{uo}")),
            &[("Status", "closed"), ("Routing", r#"{"status": "closed"}"#)],
        )
        .expect(200);
    assert_eq!(closed["status"], "closed");
    wait_status(&s, &ws, &wt, "completed");
    assert_eq!(conversation_state(&s, &ch), "closed");
}

#[test]
fn channel_closed_alone_wraps_and_inactive_parks() {
    let s = TestServer::spawn();
    let (ws, ws_sid) = workspace(&s);
    let alice = worker(&s, &ws, "alice");

    let (one, _) = inbound(&s, &ws_sid, &alice, "+15551230003");
    accept(&s, &ws, &one.wt);
    s.post(&one.channel(), &[("Status", "closed")]).expect(200);
    wait_status(&s, &ws, &one.wt, "wrapping");
    assert_eq!(conversation_state(&s, &one.ch), "closed");

    // Alice's wrapping task still holds her sms capacity: bob takes the next one.
    let bob = worker(&s, &ws, "bob");
    let (two, _) = inbound(&s, &ws_sid, &bob, "+15551230004");
    accept(&s, &ws, &two.wt);
    s.post(&two.channel(), &[("Status", "inactive")])
        .expect_error(400, 20001);
    let parked = s
        .post(
            &two.channel(),
            &[
                ("Status", "inactive"),
                ("Routing", r#"{"status":"closed"}"#),
            ],
        )
        .expect(200);
    assert_eq!(parked["status"], "inactive");
    wait_status(&s, &ws, &two.wt, "completed");
    assert_eq!(conversation_state(&s, &two.ch), "active");
    assert!(!identities(&s, &two.ch).contains(&"bob".to_owned()));
}

fn transfer(s: &TestServer, i: &Inbound, body: Value) -> crate::harness::Reply {
    s.upload(
        &format!("{}/Transfers", i.channel()),
        body.to_string().into_bytes(),
        "application/json",
        Some((s.auth.0.as_str(), s.auth.1.as_str())),
        &[],
    )
}

#[test]
fn cold_warm_and_failed_transfers() {
    let s = TestServer::spawn();
    let (ws, ws_sid) = workspace(&s);
    let alice = worker(&s, &ws, "alice");
    let bob = worker(&s, &ws, "bob");
    let carol = worker(&s, &ws, "carol");
    let (i, _) = inbound(&s, &ws_sid, &alice, "+15551230005");
    accept(&s, &ws, &i.wt);
    let ut_alice = agents(&s, &i)[0]["sid"].as_str().expect("UT").to_owned();

    // Cold: alice → bob. Alice leaves once bob accepts.
    let t = transfer(&s, &i, json!({"type": "cold", "from": ut_alice, "to": bob})).expect(201);
    assert_eq!(t["status"], "active");
    let ux = t["sid"].as_str().expect("UX").to_owned();
    let wt_bob = t["task_sid"].as_str().expect("WT").to_owned();
    assert_eq!(task(&s, &ws, &wt_bob)["routing_target"], bob.as_str());
    accept(&s, &ws, &wt_bob);
    let t = s
        .get(&format!("{}/Transfers/{ux}", i.channel()))
        .expect(200);
    assert_eq!(t["status"], "completed");
    wait_status(&s, &ws, &i.wt, "completed");
    let names = identities(&s, &i.ch);
    assert!(names.contains(&"bob".to_owned()) && !names.contains(&"alice".to_owned()));

    // Warm: bob → carol. Both stay.
    let ut_bob = agents(&s, &i)
        .iter()
        .find(|p| p["routing_properties"]["worker_sid"] == bob.as_str())
        .and_then(|p| p["sid"].as_str().map(str::to_owned))
        .expect("bob's UT");
    let t = transfer(&s, &i, json!({"type": "warm", "from": ut_bob, "to": carol})).expect(201);
    let ux = t["sid"].as_str().expect("UX").to_owned();
    accept(&s, &ws, t["task_sid"].as_str().expect("WT"));
    let t = s
        .get(&format!("{}/Transfers/{ux}", i.channel()))
        .expect(200);
    assert_eq!(t["status"], "completed");
    let names = identities(&s, &i.ch);
    assert!(names.contains(&"bob".to_owned()) && names.contains(&"carol".to_owned()));
    assert_eq!(task_status(&s, &ws, &wt_bob), "assigned");

    // Failed: the transfer's task is canceled before anyone accepts.
    let dave = worker(&s, &ws, "dave");
    let t = transfer(&s, &i, json!({"type": "cold", "from": ut_bob, "to": dave})).expect(201);
    let ux = t["sid"].as_str().expect("UX").to_owned();
    let wt = t["task_sid"].as_str().expect("WT");
    s.post(
        &format!("{ws}/Tasks/{wt}"),
        &[("AssignmentStatus", "canceled"), ("Reason", "nobody")],
    )
    .expect(200);
    let t = s
        .get(&format!("{}/Transfers/{ux}", i.channel()))
        .expect(200);
    assert_eq!(t["status"], "failed");

    transfer(
        &s,
        &i,
        json!({"type": "sideways", "from": ut_bob, "to": dave}),
    )
    .expect_error(400, 20001);
}

#[test]
fn closing_the_conversation_moves_its_tasks() {
    let s = TestServer::spawn();
    let (ws, ws_sid) = workspace(&s);
    let alice = worker(&s, &ws, "alice");
    let (i, _) = inbound(&s, &ws_sid, &alice, "+15551230006");
    accept(&s, &ws, &i.wt);
    s.post(&format!("/Conversations/{}", i.ch), &[("State", "closed")])
        .expect(200);
    wait_status(&s, &ws, &i.wt, "wrapping");
    eventually(WAIT, || {
        (s.get(&i.channel()).expect(200)["status"] == "closed").then_some(())
    });

    // A task still waiting for an agent is canceled.
    let offline = s
        .post(&format!("{ws}/Workers"), &[("FriendlyName", "olga")])
        .expect(201)["sid"]
        .as_str()
        .expect("worker")
        .to_owned();
    let (j, _) = inbound(&s, &ws_sid, &offline, "+15551230007");
    assert_eq!(task_status(&s, &ws, &j.wt), "pending");
    s.post(&format!("/Conversations/{}", j.ch), &[("State", "closed")])
        .expect(200);
    wait_status(&s, &ws, &j.wt, "canceled");
}

#[test]
fn watchers_survive_a_restart() {
    let mut s = TestServer::spawn();
    let (ws, ws_sid) = workspace(&s);
    let alice = worker(&s, &ws, "alice");
    let (i, _) = inbound(&s, &ws_sid, &alice, "+15551230008");
    accept(&s, &ws, &i.wt);
    s.restart();
    // After the restart the channel still follows its conversation.
    s.post(&format!("/Conversations/{}", i.ch), &[("State", "closed")])
        .expect(200);
    wait_status(&s, &ws, &i.wt, "wrapping");
    eventually(WAIT, || {
        (s.get(&i.channel()).expect(200)["status"] == "closed").then_some(())
    });
}

#[test]
fn flex_errors_have_twilio_shape() {
    let s = TestServer::spawn();
    s.post(&flex("/Interactions"), &[("Channel", "{not json")])
        .expect_error(400, 20001);
    s.post(&flex("/Interactions"), &[]).expect_error(400, 20001);
    s.post(&flex("/Interactions"), &[("Channel", r#"{"type":"sms"}"#)])
        .expect_error(400, 20001);
    s.post(
        &flex("/Interactions"),
        &[("Channel", r#"{"type":"pigeon","initiated_by":"agent"}"#)],
    )
    .expect_error(400, 20001);
    let kd = format!("KD{}", "0".repeat(32));
    s.get(&flex(&format!("/Interactions/{kd}")))
        .expect_error(404, 20404);
    s.get(&flex(&format!("/Interactions/{kd}/Channels")))
        .expect_error(404, 20404);
    s.get(&flex("/Interactions/nope")).expect_error(404, 20404);
}
