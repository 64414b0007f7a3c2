// The sign-in page: trades a username and password for an access token
// (POST /switchboard/v1/SignIn) and keeps it for this tab in sessionStorage, where the agent
// desktop and the supervisor view pick it up. User text only ever goes through textContent.

const KEY = "switchboard.session";

const form = document.getElementById("signin");
const status = document.getElementById("status");
const signedIn = document.getElementById("signed-in");
const who = document.getElementById("who");

function stored() {
  try {
    const session = JSON.parse(sessionStorage.getItem(KEY) || "null");
    return session && Date.parse(session.expires_at) > Date.now() ? session : null;
  } catch {
    return null;
  }
}

function show(session) {
  form.hidden = Boolean(session);
  signedIn.hidden = !session;
  who.textContent = session
    ? `${session.friendly_name || session.identity} (${session.role}), until ${new Date(session.expires_at).toLocaleTimeString()}`
    : "";
  const next = new URLSearchParams(location.search).get("next");
  if (session && next && next.startsWith("/") && !next.startsWith("//")) {
    location.assign(next);
  }
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  status.textContent = "Signing in…";
  const body = new URLSearchParams(new FormData(form));
  try {
    const response = await fetch("/switchboard/v1/SignIn", { method: "POST", body });
    const answer = await response.json().catch(() => ({}));
    if (!response.ok) {
      status.textContent =
        response.status === 401 ? "Wrong username or password." : answer.message || `Error ${response.status}`;
      return;
    }
    sessionStorage.setItem(KEY, JSON.stringify(answer));
    form.reset();
    status.textContent = "";
    show(answer);
  } catch {
    status.textContent = "The server cannot be reached. Try again.";
  }
});

document.getElementById("signout").addEventListener("click", () => {
  sessionStorage.removeItem(KEY);
  status.textContent = "Signed out.";
  show(null);
});

show(stored());
