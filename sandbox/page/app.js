// The sandbox page: polls /api/state and renders one inbox per channel, the audit trail, the
// events and the DLQs. Approve / Reject send a Slack interaction payload, signed with the
// sandbox's signing secret (as Slack would sign it), to POST /slack/interactions.
import {
  el,
  renderDiscord,
  renderMrkdwn,
  renderSlackMessage,
  renderTeams,
  utcDateTime,
  utcTime,
} from "./blockkit.js";

const POLL_MS = 800;
const view = { info: undefined, lastJson: "", lastState: undefined, busy: false };

function $(id) {
  return document.getElementById(id);
}

// Every time on the page is 24-hour UTC with a "UTC" suffix, as the approval messages write it
// ("Approved by … at 14:02 UTC"); Block Kit dates too (blockkit.js).
function time(iso) {
  return utcTime(iso);
}

/**
 * "2026-12-01 14:02 UTC": how the approval function writes a time for people in Slack
 * (handlers/slack-text.ts `humanTime`, the fallback of its `<!date>`), so that a request's ended
 * notice reads as the answer to a click on it does.
 */
function slackTime(iso) {
  const d = new Date(iso);
  if (iso === undefined || iso === null || Number.isNaN(d.getTime())) return String(iso ?? "");
  return `${d.toISOString().slice(0, 16).replace("T", " ")} UTC`;
}

function toast(text) {
  const t = $("toast");
  t.textContent = text;
  t.classList.add("show");
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => t.classList.remove("show"), 3500);
}

function userName(id) {
  const user = view.info?.users?.find((u) => u.id === id);
  return user ? user.name : id;
}

function currentUser() {
  const id = $("user").value;
  return view.info.users.find((u) => u.id === id);
}

async function hmacHex(secret, text) {
  if (!crypto.subtle)
    throw new Error("WebCrypto is unavailable: open the page on http://127.0.0.1");
  const enc = new TextEncoder();
  const key = await crypto.subtle.importKey(
    "raw",
    enc.encode(secret),
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign"],
  );
  const mac = await crypto.subtle.sign("HMAC", key, enc.encode(text));
  return [...new Uint8Array(mac)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/** Sends a block_actions interaction for a button, exactly as Slack would. */
async function clickButton(message, element, block, node) {
  const user = currentUser();
  const payload = {
    type: "block_actions",
    user: { id: user.id, username: user.username, name: user.name, team_id: "T0SANDBOX" },
    api_app_id: "A0SANDBOX",
    token: "unused-verification-token",
    container: {
      type: "message",
      message_ts: message.ts,
      channel_id: `C-${message.channel}`,
      is_ephemeral: false,
    },
    trigger_id: `${Date.now()}.sandbox`,
    team: { id: "T0SANDBOX", domain: "sandbox" },
    channel: { id: `C-${message.channel}`, name: message.channel },
    message: {
      type: "message",
      ts: message.ts,
      text: message.payload.text,
      blocks: message.payload.blocks,
    },
    // Slack mints a response_url per click (sandbox/views.ts `responseTarget`): an ephemeral
    // reply reaches only the clicker, and each click has its own 5 uses within 30 minutes.
    response_url: message.responseUrls?.[user.id]
      ? `${message.responseUrls[user.id]}~${crypto.randomUUID()}`
      : message.responseUrl,
    actions: [
      {
        type: "button",
        action_id: element.action_id,
        block_id: block.block_id,
        text: element.text,
        value: element.value,
        style: element.style,
        action_ts: String(Date.now() / 1000),
      },
    ],
  };
  const body = new URLSearchParams({ payload: JSON.stringify(payload) }).toString();
  const timestamp = String(Math.floor(Date.now() / 1000));
  node.disabled = true;
  try {
    const signature = `v0=${await hmacHex(view.info.signingSecret, `v0:${timestamp}:${body}`)}`;
    const res = await fetch("/slack/interactions", {
      method: "POST",
      headers: {
        "content-type": "application/x-www-form-urlencoded",
        "x-slack-request-timestamp": timestamp,
        "x-slack-signature": signature,
      },
      body,
    });
    toast(
      `${element.text?.text ?? "click"} as ${user.name}: approval endpoint answered ${res.status}`,
    );
  } catch (err) {
    toast(`click failed: ${err.message}`);
  } finally {
    node.disabled = false;
    setTimeout(refresh, 150);
  }
}

function card(title, subtitle, testid) {
  const box = el("section", "card inbox");
  if (testid) box.dataset.testid = testid;
  const h = el("h2", "", title);
  if (subtitle) h.append(el("span", "muted", ` ${subtitle}`));
  box.append(h);
  return box;
}

function empty(text) {
  return el("p", "empty", text);
}

/**
 * The approval run a Slack request was posted for, from its Approve button's value, with
 * `replaced` ({@link wasReplaced}) and its `pipeline`.
 */
function requestRun(state, message) {
  const blocks = message.original?.blocks ?? [];
  for (const block of blocks) {
    if (block.type !== "actions") continue;
    const button = (block.elements ?? []).find((e) => e.action_id === "deploy-notifier.approve");
    if (!button) continue;
    let value;
    try {
      value = JSON.parse(button.value);
    } catch {
      return undefined;
    }
    const approvals = state.codepipeline?.[value.pipeline]?.approvals;
    if (!approvals) return undefined;
    const runs = [...approvals.pending, ...approvals.decided];
    const run = value.actionExecutionId
      ? runs.find((r) => r.actionExecutionId === value.actionExecutionId)
      : runs.find((r) => r.executionId === value.executionId);
    return run && { ...run, replaced: wasReplaced(run, runs), pipeline: value.pipeline };
  }
  return undefined;
}

/** The outcomes of a decided run (the stand-in's view): someone decided it, or it expired. */
const DECIDED = new Set(["Approved", "Rejected", "Expired"]);

/**
 * Whether a request's buttons were made void by a newer run before anything was decided: a retry
 * of the same execution ran the approval again (a new token), or the run was still pending when
 * another execution's run replaced it. A run that was decided (approved, rejected, expired) is
 * not "replaced", also when its stage was retried after: it was decided, and says so.
 */
function wasReplaced(run, runs) {
  if (!run.replaced || DECIDED.has(run.outcome)) return false;
  const retried = runs.some((r) => r.executionId === run.executionId && r.attempt > run.attempt);
  return retried || run.status === "InProgress";
}

/** The executions of a pipeline in the CodePipeline stand-in's view, by id. */
function executionOf(state, pipeline, executionId) {
  return state.codepipeline?.[pipeline]?.executions.find((e) => e.executionId === executionId);
}

/**
 * How a request's approval run ended without a decision, when it did: expired (CodePipeline's
 * timeout), or abandoned because its execution was stopped, superseded or cancelled
 * (testing/aws/codepipeline: the run is `Abandoned`, the execution says why). `reason` is what
 * the page writes under the request; its Approve / Reject no longer decide anything (the
 * approval function would answer why: handlers/approval/ended.ts). Undefined while pending or
 * decided.
 */
function runEnded(state, pipeline, run) {
  const at = run.decidedAt ? ` at ${slackTime(run.decidedAt)}` : "";
  const what = `Approval of ${pipeline} › ${run.stage} › ${run.action}`;
  if (run.outcome === "Expired")
    return { state: "expired", reason: `${what} expired${at} — no decision in time.` };
  if (run.outcome !== "Abandoned") return undefined;
  const execution = executionOf(state, pipeline, run.executionId);
  const status = execution?.status;
  const id = short(run.executionId);
  if (status === "Stopped" || status === "Stopping")
    return { state: "stopped", reason: `${what} ended${at}: execution ${id} was stopped.` };
  if (status === "Superseded")
    return {
      state: "superseded",
      reason: `${what} ended${at}: execution ${id} was superseded by a newer execution.`,
    };
  if (status === "Cancelled")
    return { state: "cancelled", reason: `${what} ended${at}: execution ${id} was cancelled.` };
  return { state: "abandoned", reason: `${what} ended without a decision${at}.` };
}

/**
 * How a request's run was decided, when it was (the stand-in's `outcome` Approved / Rejected,
 * `decidedBy` an ARN, `decidedAt`, `summary`), in the approval function's words for a click on it
 * (handlers/approval/ended.ts `endedReason`: "Already approved in CodePipeline by role/approver
 * at … : <summary>"). Its buttons decide nothing any more: a decision in the console leaves the
 * Slack request's buttons live until someone clicks. Undefined while undecided.
 */
function runDecided(run) {
  if (run.status === "InProgress") return undefined;
  if (run.outcome !== "Approved" && run.outcome !== "Rejected") return undefined;
  const verb = run.outcome.toLowerCase();
  // The resource part of the caller's ARN ("role/approver"), as the approval function shows it.
  const arn = String(run.decidedBy ?? "").split(":");
  const who = arn.length > 5 ? arn.slice(5).join(":") : run.decidedBy;
  const by = who ? ` by ${who}` : "";
  const at = run.decidedAt ? ` at ${slackTime(run.decidedAt)}` : "";
  const summary = run.summary ? `: ${run.summary}` : "";
  return {
    state: "decided",
    icon: run.outcome === "Approved" ? "✅" : "❌",
    reason: `Already ${verb} in CodePipeline${by}${at}${summary}`,
  };
}

/**
 * What the CodePipeline stand-in says of a request's run: `state` (pending, decided, replaced by
 * a newer run, expired, stopped, superseded, cancelled, abandoned), its badges, and for a run
 * that ended (undecided, or decided: {@link runDecided}) the `ended` reason (see {@link runEnded}).
 */
function requestStatus(state, message) {
  const run = requestRun(state, message);
  if (!run) return { badges: [] };
  const badges = [];
  if (run.attempt > 1) badges.push(el("span", "badge", `attempt ${run.attempt}`));
  if (run.replaced) {
    // handlers/approval/messages.ts REPLACED, as Slack says it (CodePipeline's "action execution").
    badges.push(el("span", "badge warn", "replaced by a newer action execution"));
    return { state: "replaced", badges };
  }
  const ended = runEnded(state, run.pipeline, run);
  if (ended) {
    badges.push(el("span", "badge warn", ended.state));
    return { state: ended.state, badges, ended };
  }
  const decided = runDecided(run);
  if (decided) return { state: "decided", badges, ended: decided };
  return { state: run.status === "InProgress" ? "pending" : "decided", badges };
}

/**
 * The line under a request whose run ended undecided, styled as the product's expiry notice
 * (handlers/reminders/messages.ts `expiredMessage`: ":no_entry_sign: *Approval of … expired*",
 * its blocks without buttons).
 */
function endedNotice(ended) {
  const note = el("div", "run-ended");
  note.dataset.testid = "request-ended";
  note.append(el("span", "", `${ended.icon ?? "🚫"} `), el("strong", "", ended.reason));
  note.append(el("div", "muted small", "Its buttons no longer decide anything."));
  return note;
}

function renderSlack(state) {
  const channels = state.info.channels.filter((c) => c.type === "slack");
  return channels.map((channel) => {
    const box = card(`Slack #${channel.name}`, "", "slack-inbox");
    box.dataset.channel = channel.name;
    const messages = state.slack.filter((m) => m.channel === channel.name).reverse();
    if (messages.length === 0) box.append(empty("No messages yet."));
    for (const message of messages) {
      const item = el("article", "message slack");
      item.dataset.testid = "slack-message";
      item.dataset.messageId = message.id;
      item.dataset.replaced = message.replacedAt ? "true" : "false";
      const meta = el("div", "meta");
      meta.append(
        el("strong", "", "deploy-notifier"),
        el("span", "app-badge", "APP"),
        el("span", "muted", time(message.at)),
      );
      if (message.replacedAt)
        meta.append(el("span", "badge ok", `updated ${time(message.replacedAt)}`));
      const status = requestStatus(state, message);
      if (status.state) item.dataset.runState = status.state;
      meta.append(...status.badges);
      item.append(meta);
      item.append(
        renderSlackMessage(message.payload, {
          userName,
          onButton: (element, block, node) => clickButton(message, element, block, node),
          // A run that ended undecided: its buttons are shown disabled, with the reason.
          disabledReason: status.ended?.reason,
        }),
      );
      if (status.ended && !message.replacedAt) item.append(endedNotice(status.ended));
      item.append(...ephemeralNotes(message));
      box.append(item);
    }
    return box;
  });
}

/**
 * Ephemeral replies as Slack shows them: only to the user they were for (the "Clicking as" user),
 * labelled with whom they are visible to. A reply whose user is unknown (a click that did not use
 * a per-user response_url) is shown to everyone, labelled so.
 */
function ephemeralNotes(message) {
  const me = $("user").value;
  return message.ephemerals
    .filter((eph) => !eph.for || eph.for === me)
    .map((eph) => {
      const note = el("div", "ephemeral");
      note.dataset.testid = "slack-ephemeral";
      if (eph.for) note.dataset.for = eph.for;
      const label = eph.for
        ? `Only visible to you (${userName(eph.for)}) · ${time(eph.at)} · `
        : `Only visible to the user who clicked · ${time(eph.at)} · `;
      note.append(el("span", "muted", label));
      renderMrkdwn(eph.text, note, { userName });
      return note;
    });
}

function renderPagerDuty(state) {
  const box = card("PagerDuty", "incidents", "pagerduty-inbox");
  const incidents = [...state.pagerduty.incidents].reverse();
  if (incidents.length === 0) box.append(empty("No incidents."));
  for (const incident of incidents) {
    const item = el("article", `message incident ${incident.status}`);
    item.dataset.testid = "pd-incident";
    const head = el("div", "meta");
    head.append(
      el("span", `badge ${incident.status === "resolved" ? "ok" : "bad"}`, incident.status),
      el("span", "badge", incident.severity),
      el("span", "muted", `${incident.channel} · opened ${time(incident.openedAt)}`),
    );
    item.append(head, el("div", "summary", incident.summary));
    item.append(
      el(
        "div",
        "muted small",
        `dedup_key ${incident.dedupKey} · ${incident.triggers} trigger(s) · updated ${time(incident.updatedAt)}`,
      ),
    );
    box.append(item);
  }
  return box;
}

function renderSms(state, list) {
  const box = card("SMS", "via SNS", "sms-inbox");
  if (list.length === 0) box.append(empty("Nothing yet."));
  for (const sms of [...list].reverse()) {
    const item = el("article", "message sms");
    item.dataset.testid = "sms-message";
    item.append(el("div", "bubble", sms.message));
    item.append(
      el(
        "div",
        "muted small",
        `${sms.channel} · ${time(sms.at)} · ${sms.chars} chars · ${sms.encoding} · ${sms.segments} segment${sms.segments === 1 ? "" : "s"}`,
      ),
    );
    box.append(item);
  }
  return box;
}

/** SNS email: the sender SNS uses, the channel's subscribed addresses, the subject and the body. */
const SNS_EMAIL_FROM = "AWS Notifications <no-reply@sns.amazonaws.com>";
/** The subject SNS puts on an email when Publish had no Subject. */
const SNS_DEFAULT_SUBJECT = "AWS Notification Message";

function renderEmail(state, list) {
  const box = card("Email", "via SNS", "email-inbox");
  if (list.length === 0) box.append(empty("Nothing yet."));
  for (const mail of [...list].reverse()) {
    const item = el("article", "message email");
    item.dataset.testid = "email-message";
    const channel = state.info.channels.find((c) => c.name === mail.channel);
    item.append(el("div", "email-subject", mail.subject || SNS_DEFAULT_SUBJECT));
    const head = el("dl", "email-head small");
    const row = (label, value) => head.append(el("dt", "", label), el("dd", "", value));
    row("From", SNS_EMAIL_FROM);
    row("To", channel?.addresses?.join(", ") || `subscribers of ${mail.channel}`);
    row("Date", time(mail.at));
    item.append(head, el("pre", "email-body", mail.message));
    box.append(item);
  }
  return box;
}

function renderGeneric(title, list, render, testid) {
  const box = card(title, "", testid);
  if (list.length === 0) box.append(empty("Nothing yet."));
  for (const d of [...list].reverse()) {
    const item = el("article", "message");
    item.append(el("div", "meta muted", `${d.channel} · ${time(d.at)}`), render(d.payload));
    box.append(item);
  }
  return box;
}

/**
 * A webhook payload (handlers/channels/webhook.ts): one line saying what it is, and the JSON the
 * receiver got behind a disclosure, so that a run's webhooks do not make the page pages long.
 */
function renderWebhook(p) {
  const n = p.notification;
  const line =
    p.type === "digest"
      ? `digest · ${p.title}`
      : n
        ? [`${n.kind} · ${n.pipeline}${n.stage ? ` / ${n.stage}` : ""}`, n.state, n.summary]
            .filter(Boolean)
            .join(" · ")
        : "payload";
  const json = JSON.stringify(p, null, 2);
  const details = el("details", "payload");
  details.append(
    el("summary", "", `JSON (${json.split("\n").length} lines)`),
    el("pre", "code", json),
  );
  const root = el("div");
  root.append(el("div", "", line), details);
  return root;
}

function table(headers, rows, rowAttrs) {
  if (rows.length === 0) return empty("Nothing yet.");
  const t = el("table", "table");
  const head = el("tr");
  for (const h of headers) head.append(el("th", "", h));
  t.append(head);
  rows.forEach((cells, i) => {
    const tr = el("tr");
    rowAttrs?.(tr, i);
    for (const c of cells) tr.append(c instanceof Node ? c : el("td", "", c));
    t.append(tr);
  });
  return t;
}

const ISO_INSTANT = /\b\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z\b/g;

function renderAudit(state) {
  const items = [...state.audit].reverse();
  return table(
    ["time", "pipeline", "action", "channel", "actor", "result"],
    items.map((a) => [
      time(a.at),
      a.pipeline ?? "",
      a.action ?? "",
      a.channel ?? "",
      a.actor ?? "",
      // Results may quote instants ("already sent at 2024-…Z"): written like every other time.
      String(a.result ?? "").replace(ISO_INSTANT, (iso) => utcDateTime(iso)),
    ]),
    (tr, i) => {
      tr.dataset.testid = "audit-row";
      tr.dataset.action = items[i].action;
      tr.className = `audit-${items[i].action}`;
    },
  );
}

function renderEvents(state) {
  const events = [...state.events].reverse();
  return table(
    ["posted", "pipeline", "event", "state", "event time", "attempt", "rule", "queue"],
    events.map((e) => [
      time(new Date(e.postedAt).toISOString()),
      e.pipeline,
      e.detailType.replace("CodePipeline ", "").replace(" Execution State Change", "") +
        (e.trigger ? ` (${e.trigger})` : "") +
        (e.emitted ? " · emitted by CodePipeline" : "") +
        (e.notRecorded ? " · not CodePipeline's: the stand-in did not record it" : ""),
      e.state,
      utcDateTime(e.time),
      e.attempt ? String(e.attempt) : "—",
      e.held
        ? "held: its execution waits for the stage"
        : e.refused
          ? "refused by the central bus"
          : e.matched
            ? "matched"
            : "not matched",
      e.queue ? `${e.queue.state} · ${e.queue.receiveCount} receive(s)` : "—",
    ]),
  );
}

/** AWS seconds as people say them: "6 min 12 s". */
function awsDuration(seconds) {
  if (seconds === undefined) return "—";
  const s = Math.round(seconds);
  return s >= 60 ? `${Math.floor(s / 60)} min ${s % 60} s` : `${seconds} s`;
}

/** Per channel: messages (digests), requests, 429s, most per AWS second, deferrals; pages; DLQ. */
function renderTraffic(state) {
  const t = state.traffic;
  const box = el("div", "");
  if (!t) return box;
  box.append(
    table(
      [
        "channel",
        "type",
        "messages",
        "of which digests",
        "requests",
        "answered 429",
        "most in one AWS second",
        "deferred",
      ],
      t.channels.map((c) => [
        c.channel,
        c.type,
        String(c.messages),
        String(c.digests),
        String(c.attempts),
        String(c.http429),
        String(c.maxPerSecond),
        String(c.deferrals),
      ]),
      (tr, i) => {
        tr.dataset.testid = `traffic-${t.channels[i].channel}`;
        if (t.channels[i].http429 > 0) tr.classList.add("bad");
      },
    ),
  );
  const pd = t.pagerduty;
  box.append(
    el(
      "p",
      "muted",
      `PagerDuty: ${pd.opened} incident(s) opened (${pd.open} open, ${pd.resolved} resolved) from ${pd.alerts} trigger(s), ${pd.added} added to an open incident · DLQ: ${t.dlq} · clock 1/${t.timeScale} of AWS's`,
    ),
  );
  return box;
}

/** Per fault set: when it started, the first failure, the first alarm and the time to it. */
function renderAlarms(state) {
  const list = state.alarms ?? [];
  if (list.length === 0)
    return empty(
      "No fault set yet: pick a receiver and a fault above (or run with --fault slack=500), then post events or replay the scenario.",
    );
  const box = el("div", "");
  box.append(
    table(
      ["receiver", "channels", "failing since", "first failure", "first alarm", "time to alarm"],
      list.map((a) => [
        `${a.receiver}: ${a.fault}${a.endedAt ? ` (until ${time(a.endedAt)})` : ""}`,
        a.channels.join(", ") || "—",
        time(a.startedAt),
        a.firstFailureSeconds === undefined ? "—" : `+${awsDuration(a.firstFailureSeconds)}`,
        a.alarm ?? (a.endedAt ? "none: the fault ended first" : "none yet"),
        a.alarm
          ? `${awsDuration(a.alarmSeconds)}${a.pending ? " (when this minute ends)" : ""} · ${a.alarmSandboxMs} ms here`
          : "—",
      ]),
      (tr, i) => (tr.dataset.testid = `alarm-${i}`),
    ),
  );
  box.append(el("p", "muted", list[0].rule));
  return box;
}

const short = (id) => (id ? String(id).slice(0, 8) : "");

/** What became of an approval run, in words. */
function runOutcome(run) {
  if (run.status === "InProgress" && !run.replaced) return "pending";
  // CodePipeline records the IAM caller of PutApprovalResult, not the Slack user: show the ARN's
  // resource ("role/approver"), since its last segment alone read "approved by approver".
  const by = run.decidedBy ? ` by ${run.decidedBy.split(":").pop()}` : "";
  const what =
    run.outcome === "Expired"
      ? "expired — no decision in time"
      : run.outcome
        ? `${run.outcome.toLowerCase()}${by}`
        : run.status;
  return run.replaced ? `${what}; replaced by a newer action execution` : what;
}

/**
 * The CodePipeline stand-in as `GET /api/codepipeline` shows it: per pipeline its executions
 * (attempt, mode, type: a rollback names its target) and its approval runs with their tokens.
 */
function renderCodePipeline(state) {
  const root = el("div");
  const pipelines = Object.entries(state.codepipeline ?? {});
  if (pipelines.length === 0) return empty("Nothing yet.");
  for (const [name, p] of pipelines) {
    const section = el("div", "cp-pipeline");
    section.dataset.testid = "cp-pipeline";
    section.dataset.pipeline = name;
    section.append(el("h3", "", `${name} `), el("span", "chip", `mode ${p.executionMode}`));
    const executions = [...p.executions].reverse();
    section.append(
      table(
        ["execution", "started", "type", "trigger", "attempt", "mode", "status"],
        executions.map((e) => [
          short(e.executionId),
          e.startTime ? time(e.startTime) : "",
          e.executionType === "ROLLBACK"
            ? `rollback to ${short(e.rollbackTargetExecutionId) || "?"}`
            : "standard",
          e.trigger?.triggerType ?? "",
          String(e.attempt),
          e.executionMode,
          e.status +
            (e.waitingAt ? ` · waiting to enter ${e.waitingAt}` : "") +
            (e.statusSummary ? ` (${e.statusSummary})` : ""),
        ]),
        (tr, i) => {
          tr.dataset.testid = "cp-execution";
          tr.dataset.type = executions[i].executionType;
        },
      ),
    );
    const all = [...p.approvals.pending, ...p.approvals.decided];
    const runs = all
      .map((r) => ({ ...r, replaced: wasReplaced(r, all) }))
      .sort((a, b) => b.startedAt.localeCompare(a.startedAt));
    if (runs.length > 0)
      section.append(
        table(
          ["approval run", "execution", "attempt", "started", "outcome", "decided", "token"],
          runs.map((r) => [
            short(r.actionExecutionId),
            short(r.executionId),
            String(r.attempt),
            time(r.startedAt),
            runOutcome(r),
            r.decidedAt
              ? time(r.decidedAt)
              : r.expiresAt
                ? `expires ${utcDateTime(r.expiresAt)}`
                : "",
            short(r.token),
          ]),
          (tr, i) => {
            tr.dataset.testid = "cp-approval";
            tr.dataset.outcome = runs[i].replaced ? "replaced" : (runs[i].outcome ?? "pending");
          },
        ),
      );
    root.append(section);
  }
  return root;
}

function renderDlq(state) {
  const root = el("div");
  const q = state.info.queue;
  root.append(
    el(
      "p",
      "muted small",
      `Queue redrive, the backstop: messages received ${q.maxReceiveCount} times and never deleted (the fan-out timed out, crashed or could not park them). ` +
        `Fan-out DLQ: events the fan-out gave up on after ${q.maxReceiveCount - 1} receives, with reasons.`,
    ),
  );
  root.append(el("h3", "", `Queue redrive (${state.dlq.redrive.length})`));
  root.append(
    table(
      ["message", "receives", "last error"],
      state.dlq.redrive.map((m) => [
        m.messageId.slice(0, 8),
        String(m.receiveCount),
        m.errors.at(-1) ?? "",
      ]),
    ),
  );
  root.append(el("h3", "", `Fan-out DLQ with reasons (${state.dlq.fanout.length})`));
  for (const m of state.dlq.fanout) {
    const pre = el("pre", "code", `${time(m.at)} ${JSON.stringify(m.attributes)}\n${m.body}`);
    root.append(pre);
  }
  return root;
}

function renderProgress(state) {
  const root = $("progress");
  root.replaceChildren();
  if (!state.progress.scenario) return;
  root.append(el("strong", "", state.progress.scenario));
  state.progress.steps.forEach((step, i) => {
    const chip = el("span", `step ${step.status}`, `${i + 1}. ${step.name}`);
    chip.title = [step.say, ...step.problems, ...(step.notes ?? []).map((n) => `⚠ ${n}`)]
      .filter(Boolean)
      .join("\n");
    root.append(chip);
  });
}

function render(state) {
  const q = state.info.queue;
  const facts = $("facts");
  facts.replaceChildren(
    el("span", "chip", `stack ${state.info.stack}`),
    el(
      "span",
      "chip",
      `visibility timeout ${q.declaredVisibilitySeconds} s → ${q.visibilityTimeoutMs} ms in the sandbox`,
    ),
    el(
      "span",
      "chip",
      `DLQ: the fan-out parks after ${q.maxReceiveCount - 1} receives (redrive after ${q.maxReceiveCount})`,
    ),
    el("span", "chip", "times in UTC"),
    ...Object.entries(state.faults).map(([r, f]) => el("span", "chip bad", `fault ${r}: ${f}`)),
  );
  renderProgress(state);
  const types = new Set(state.info.channels.map((c) => c.type));
  const inboxes = [...renderSlack(state)];
  if (types.has("pagerduty")) inboxes.push(renderPagerDuty(state));
  if (types.has("sms")) inboxes.push(renderSms(state, state.sms));
  if (types.has("email")) inboxes.push(renderEmail(state, state.email));
  if (types.has("teams"))
    inboxes.push(renderGeneric("Microsoft Teams", state.teams, renderTeams, "teams-inbox"));
  if (types.has("discord"))
    inboxes.push(renderGeneric("Discord", state.discord, renderDiscord, "discord-inbox"));
  if (types.has("webhook"))
    inboxes.push(renderGeneric("Webhooks", state.webhook, renderWebhook, "webhook-inbox"));
  $("inboxes").replaceChildren(...inboxes);
  $("audit").replaceChildren(renderAudit(state));
  $("events").replaceChildren(renderEvents(state));
  $("traffic").replaceChildren(renderTraffic(state));
  $("alarms").replaceChildren(renderAlarms(state));
  $("codepipeline").replaceChildren(renderCodePipeline(state));
  $("dlq").replaceChildren(renderDlq(state));
  document.body.dataset.ready = "true";
}

/** Adds `spec` (as `--fault` spells it after the `=`) to the fault menu unless it is there. */
function addFaultOption(spec) {
  const kind = $("fault-kind");
  if ([...kind.options].some((o) => o.value === spec)) return;
  const option = el("option", "", spec.replace(/x(\d+)$/, " ×$1"));
  option.value = spec;
  kind.append(option);
}

/**
 * Shows the fault set on the chosen receiver, "none" when it has none: after a reload the
 * selector said "none" while the header showed the receiver failing. A fault the menu does not
 * list (`502x3` set through `POST /api/faults`) is added to it, so it never reads "none".
 */
function showFaultOfReceiver() {
  const active = view.lastState?.faultSpecs?.[$("fault-receiver").value];
  if (active) addFaultOption(active);
  $("fault-kind").value = active ?? "off";
}

async function refresh() {
  if (view.busy) return;
  view.busy = true;
  try {
    const res = await fetch("/api/state", { cache: "no-store" });
    const text = await res.text();
    if (text !== view.lastJson) {
      const specsBefore = JSON.stringify(view.lastState?.faultSpecs ?? {});
      view.lastJson = text;
      view.lastState = JSON.parse(text);
      render(view.lastState);
      // A fault set elsewhere (--fault, the API, a scenario step) shows in the menu too.
      if (JSON.stringify(view.lastState.faultSpecs ?? {}) !== specsBefore) showFaultOfReceiver();
    }
  } catch (err) {
    toast(`sandbox unreachable: ${err.message}`);
  } finally {
    view.busy = false;
  }
}

/** The fault selector's names for the receivers whose name alone does not say what they are. */
const RECEIVER_LABELS = {
  sns: "sns (SMS and email)",
  "slack-api": "slack-api (bot mode)",
  "slack-response": "slack-response (approval replies)",
};

async function start() {
  view.info = await (await fetch("/api/sandbox")).json();
  const select = $("user");
  for (const user of view.info.users) {
    const option = el(
      "option",
      "",
      `${user.name} (${user.id})${user.approver ? " — approver" : " — not an approver"}`,
    );
    option.value = user.id;
    select.append(option);
  }
  // Only the receivers this stack's channels use: a fault for another one would be refused.
  const receivers = $("fault-receiver");
  for (const receiver of view.info.receivers) {
    const option = el("option", "", RECEIVER_LABELS[receiver] ?? receiver);
    option.value = receiver;
    receivers.append(option);
  }
  receivers.addEventListener("change", showFaultOfReceiver);
  // The sandbox's own list (sandbox/faults.ts FAULT_MENU): every kind the API accepts.
  for (const spec of view.info.faultMenu) addFaultOption(spec);
  // Ephemeral replies depend on who is looking.
  select.addEventListener("change", () => view.lastState && render(view.lastState));
  $("fault-apply").addEventListener("click", async () => {
    const receiver = $("fault-receiver").value;
    const fault = $("fault-kind").value;
    const res = await fetch("/api/faults", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ receiver, fault: fault === "off" ? null : fault }),
    });
    if (!res.ok) {
      const body = await res.json().catch(() => ({}));
      toast(`fault not set: ${body.error ?? body.message ?? res.status}`);
    }
    refresh();
  });
  $("replay").addEventListener("click", async () => {
    const res = await fetch("/api/scenario", { method: "POST" });
    if (res.ok) toast("Replaying the scenario…");
    else {
      const body = await res.json().catch(() => ({}));
      toast(`not replayed: ${body.error ?? res.status}`);
    }
  });
  await refresh();
  showFaultOfReceiver();
  setInterval(refresh, POLL_MS);
}

start();
