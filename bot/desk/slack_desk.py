"""The desk in Slack: what staff messages, edits, buttons and `/ticket` do. The Slack
plumbing (Bolt, signatures, Socket Mode, re-sent events, the Web API and its limits) is
in bot/adapters/slack_app.py and slack_out.py; this class implements that adapter's
`SlackHandlers` by translating each event into a desk action or view with the Slack user
as the actor, and its answer (or refusal) back into Slack: an ephemeral message, a post
in the ticket's thread, or the text of `/ticket`'s answer. Everything is written to the
database and the outbox in one unit of work, so a handler is quick and nothing is
posted or mailed twice.

- A staff message in a ticket's thread is mailed to the customer after the undo window
  (`undo_seconds`, default 60): editing the Slack message within it changes the mail,
  deleting it cancels the mail; once sent, the bot reacts with :email:. Messages that
  start with `note:` are internal notes; in an `explicit` channel only messages that
  start with `reply:` are mailed, everything else is a note.
- A message in an intake channel, or a DM to the bot, opens a ticket (channel slack).
- `/ticket` and the buttons: take, assign, resolve, reopen, kind, note, show (with the
  customer card), search, time, hold, release; `time: 15m [note]` in a thread logs time.
- Someone who is not in rules.yaml is refused every action and every view, with a
  message only they see; their thread messages are never mailed.
- Everything said to a person is in their language (rules.yaml `language:`, else the
  desk's; the texts: bot/core/slack_words.py); a refusal in Slack's own words
  (`Refused.words("slack", …)`: bot/core/refusal_texts.py), never the command line's.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.core import slack_text
from bot.core.slack_words import help_text, say
from bot.core.worktime import looks_like_duration
from bot.desk import actions, intake, queries, slack_posts
from bot.desk.actor import Actor, Verb, Via, refusal, refused, slack_actor
from bot.desk.context import Desk
from bot.desk.errors import Refused
from bot.desk.views import valid_number
from bot.store.models import Event, Ticket

SLACK_EVENTS = ("slack-reply", "note", "slack-intake", "time")
MAILTO = re.compile(r"<mailto:([^|>]+)(?:\|[^>]*)?>")  # how Slack writes an address
EMAIL = re.compile(r"[\w.+'-]+@[\w-]+(?:\.[\w-]+)+")
SHORTCUT = "ticket_from_message"  # bot/adapters/slack_app.py registers it under this id
NOACK = re.compile(r"(?:^|\s)(?:#no-?ack|--no-?ack)(?=\s|$)", re.IGNORECASE)
TIME_PREFIX = "time:"  # a thread message `time: 15m [note]` logs time instead of replying


class SlackDesk:
    """Implements bot.adapters.slack_app.SlackHandlers on the desk."""

    def __init__(self, desk: Desk):
        self.desk = desk

    # ------------------------------------------------------------------ helpers
    def _actor(self, user: str) -> Actor:
        return slack_actor(self.desk.ruleset, user)

    def _lang(self, actor: Actor | None) -> str:
        """The language a person reads Slack in: their own, else the desk's."""
        return self.desk.ruleset.language_of(actor.person if actor is not None else None)

    def language_of(self, user: str) -> str:
        """The Slack user's language (bot/adapters/slack_app.py says its own failure in it)."""
        return self._lang(self._actor(user))

    @staticmethod
    def _why(exc: Refused, lang: str) -> str:
        """A refusal in Slack's words (mrkdwn: its params may be outside text)."""
        return slack_text.escape(exc.words("slack", lang))

    @staticmethod
    def _thread_ticket(s: Session, channel: str, thread_ts: str | None) -> Ticket | None:
        if not thread_ts:
            return None
        return s.scalars(select(Ticket).where(Ticket.slack_ts == thread_ts,
                                              Ticket.slack_channel == channel)).first()

    @staticmethod
    def _seen(s: Session, ticket_id: int, ref: str) -> bool:
        """Idempotent on (channel, ts): an event that reached us before changes nothing."""
        return any((e.detail or {}).get("slack_ref") == ref for e in s.scalars(
            select(Event).where(Event.ticket_id == ticket_id, Event.action.in_(SLACK_EVENTS))))

    def _reply_text(self, text: str) -> str:
        """A thread message as mailed: without the `reply:` prefix, if it has one."""
        body = text.strip()
        prefix = self.desk.ruleset.slack["reply_prefix"]
        return body[len(prefix):].strip() if body.lower().startswith(prefix) else body

    # ------------------------------------------------------------------ thread messages
    def on_thread_message(self, *, channel: str, thread_ts: str, ts: str, user: str, text: str,
                          files: list[dict]) -> None:
        desk = self.desk
        now = desk.clock()
        ref = f"{channel}:{ts}"
        actor = self._actor(user)
        lang = self._lang(actor)
        slack = desk.ruleset.slack
        with desk.uow.write() as s:
            t = self._thread_ticket(s, channel, thread_ts)
            if t is None or self._seen(s, t.id, ref):
                return
            lowered = text.lstrip().lower()
            # a ticket opened in Slack is answered in Slack: its thread is the conversation
            explicit = channel in slack["explicit"] or t.channel == "slack"
            logged = self._time_in_thread(s, t, text, actor, ref, user)
            try:
                if logged:
                    pass
                elif lowered.startswith(slack["note_prefix"]):
                    note = text.lstrip()[len(slack["note_prefix"]):].strip()
                    actions.add_note(desk, actor, t.id, note, slack_ref=ref, s=s)
                elif explicit and not lowered.startswith(slack["reply_prefix"]):
                    actions.add_note(desk, actor, t.id, text.strip(), slack_ref=ref, s=s)
                else:
                    attached, too_big = self._mail_files(files)
                    actions.reply(desk, actor, t.id, self._reply_text(text),
                                  delay_seconds=slack["undo_seconds"], slack_ref=ref,
                                  files=attached, s=s)
                    if too_big:
                        slack_posts.say(s, t, say(
                            lang, "not-attached", mb=desk.settings.notice_attachments_max // 1_000_000,
                            names=slack_text.escape(", ".join(too_big))), now)
            except Refused as exc:
                if refusal(actor, Verb.REPLY):  # not one of the desk: only they hear of it
                    slack_posts.tell_only(s, t.id, channel, user,
                                          say(lang, "not-mailed-stranger", why=self._why(exc, lang)),
                                          now, thread_ts=thread_ts)
                else:
                    slack_posts.say(s, t, say(lang, "not-mailed", why=self._why(exc, lang)), now)

    def _mail_files(self, files: list[dict]) -> tuple[list[dict], list[str]]:
        """The Slack files a reply mails along, in order, while their total stays within
        TICKETBOT_NOTICE_ATTACHMENTS_MAX; the names of the rest."""
        cap, total = self.desk.settings.notice_attachments_max, 0
        attached: list[dict] = []
        too_big: list[str] = []
        for f in files or []:
            size = int(f.get("size") or 0)
            if not f.get("url"):
                continue
            if total + size > cap:
                too_big.append(f.get("name") or "file")
                continue
            total += size
            attached.append(f)
        return attached, too_big

    def _time_in_thread(self, s: Session, t: Ticket, text: str, actor: Actor, ref: str,
                        user: str) -> bool:
        """`time: 15m [note]` in a ticket's thread logs time (and is never mailed); False
        when the message is not one (its first word after `time:` is no duration)."""
        body = text.strip()
        if not body.lower().startswith(TIME_PREFIX):
            return False
        duration, _, note = body[len(TIME_PREFIX):].strip().partition(" ")
        if not looks_like_duration(duration):
            return False
        now = self.desk.clock()
        lang = self._lang(actor)
        try:
            out = actions.log_time(self.desk, actor, t.id, duration, note or None, slack_ref=ref, s=s)
        except Refused as exc:
            channel, _, _ = ref.partition(":")
            slack_posts.tell_only(s, t.id, channel, user,
                                  say(lang, "time-not-logged", why=self._why(exc, lang)), now,
                                  thread_ts=t.slack_ts)
            return True
        slack_posts.say(s, t, say(lang, "time-logged-thread", duration=out["duration"],
                                  person=out["person"], total=out["total"]), now)
        return True

    def on_message_changed(self, *, channel: str, ts: str, thread_ts: str | None, user: str,
                           text: str) -> None:
        """Within the undo window the mail follows the edit; after it, staff are told."""
        self._undo_window(channel, thread_ts, ts, user, "change",
                          lambda desk, actor, n, ref, s: actions.edit_reply(
                              desk, actor, n, ref, self._reply_text(text), s=s))

    def on_message_deleted(self, *, channel: str, ts: str, thread_ts: str | None) -> None:
        # Slack does not say who deleted a message: only its author or an admin can.
        self._undo_window(channel, thread_ts, ts, None, "cancel",
                          lambda desk, actor, n, ref, s: actions.cancel_reply(
                              desk, actor, n, ref, s=s))

    def _undo_window(self, channel: str, thread_ts: str | None, ts: str, user: str | None,
                     verb: str, act) -> None:
        desk = self.desk
        ref = f"{channel}:{ts}"
        with desk.uow.write() as s:
            t = self._thread_ticket(s, channel, thread_ts)
            if t is None:
                return
            row = actions.queued_reply(s, t, ref)
            if row is None:
                return
            # the author of the Slack message the mail came from acts on it again
            author = next((e.actor for e in s.scalars(select(Event).where(
                Event.ticket_id == t.id, Event.action == "slack-reply"))
                if (e.detail or {}).get("slack_ref") == ref), None)
            actor = self._actor(user) if user else None
            if actor is None:
                person = desk.ruleset.people.get(author or "")
                actor = Actor.of(person, Via.SLACK) if person else Actor.system("slack")
            lang = self._lang(actor)
            try:
                if not act(desk, actor, t.id, ref, s):
                    slack_posts.say(s, t, say(lang, f"too-late-{verb}"), desk.clock())
            except Refused as exc:
                if user:
                    slack_posts.tell_only(s, t.id, channel, user,
                                          say(lang, "refused-icon", why=self._why(exc, lang)),
                                          desk.clock(), thread_ts=thread_ts)

    # ------------------------------------------------------------------ new tickets
    def on_intake_message(self, *, channel: str, ts: str, user: str, text: str,
                          files: list[dict]) -> None:
        """An intake channel or a DM to the bot (D…) opens a ticket, routed by the rules. A
        colleague's message that names a customer's address is that customer's ticket
        (actions.open_on_behalf), acknowledged unless it says #noack."""
        rs = self.desk.ruleset
        if not (channel in rs.slack["intake"] or channel.startswith("D")):
            return
        if not text.strip():
            return
        person = next((p for p in rs.people.values() if p.slack == user), None)
        customer = self._customer_in(text) if person is not None else ""
        if customer and person is not None:  # a colleague passing on a customer's request
            ack = not NOACK.search(text)
            lang = rs.language_of(person)
            try:
                d = actions.open_on_behalf(self.desk, Actor.of(person, Via.SLACK), customer, None,
                                           NOACK.sub(" ", MAILTO.sub(r"\1", text)).strip(),
                                           ack=ack, source="slack-intake", ref=f"{channel}:{ts}")
                answer = self._opened(d, lang)
            except Refused as exc:
                answer = say(lang, "not-done-icon", why=self._why(exc, lang))
            with self.desk.uow.write() as s:
                slack_posts.tell_only(s, None, channel, user, answer, self.desk.clock(),
                                      thread_ts=None)
            return
        intake.ingest_slack(self.desk, channel=channel, ts=ts, user=user, text=text,
                            email=person.email if person else "",
                            name=person.name if person else user)

    # ------------------------------------------------------------------ buttons, /ticket
    def on_action(self, *, action_id: str, value: str | None, user: str, channel: str | None,
                  message_ts: str | None, trigger_id: str | None) -> None:
        try:
            number = int(value or "")
        except ValueError:
            return
        verb = {"ticket_take": "take", "ticket_resolve": "resolve",
                "ticket_show": "show"}.get(action_id)
        if verb is None:
            return
        actor = self._actor(user)
        answer = self._do(verb, [str(number)], actor)
        desk = self.desk
        with desk.uow.write() as s:
            t = s.get(Ticket, number) if valid_number(number) else None
            if refusal(actor, Verb.VIEW) or t is None or not t.slack_ts:
                if channel:  # only the person who pressed the button sees the answer
                    slack_posts.tell_only(s, t.id if t else None, channel, user, answer,
                                          desk.clock())
            else:
                slack_posts.say(s, t, f"<@{user}>: {answer}", desk.clock())

    def on_command(self, *, text: str, user: str, channel: str) -> str | None:
        words = text.split()
        if not words or words[0] in ("help", "?"):
            return help_text(self.language_of(user))
        if words[0].isdigit():
            words = ["show", *words]
        if words[0].lower() in ("new", "call"):
            return self._open(words[0].lower(), text.split(None, 1)[1] if len(words) > 1 else "",
                              self._actor(user), source="slack-command")
        return self._do(words[0].lower(), words[1:], self._actor(user))

    def _open(self, verb: str, rest: str, actor: Actor, *, source: str,
              ref: str | None = None) -> str:
        """`/ticket new customer@example.com [kind] text` and `/ticket call customer@… text`:
        a ticket for the customer, opened by the colleague (actions.open_on_behalf)."""
        rest = MAILTO.sub(r"\1", rest)
        ack = not NOACK.search(rest)
        rest = NOACK.sub(" ", rest).strip()
        customer, _, text = rest.partition(" ")
        kind: str | None = "call" if verb == "call" else None
        first, _, after = text.strip().partition(" ")
        if verb == "new" and (first.lower() in self.desk.ruleset.kinds or first.lower() == "call"):
            kind, text = first.lower(), after
        lang = self._lang(actor)
        if not customer or "@" not in customer or not text.strip():
            return say(lang, f"usage-{verb}")
        try:
            d = actions.open_on_behalf(self.desk, actor, customer, kind, text, ack=ack,
                                       source=source, ref=ref)
        except Refused as exc:
            return say(lang, "not-done", why=self._why(exc, lang))
        return say(lang, "opened-acked" if ack else "opened-not-acked", tag=d["tag"],
                   contact=slack_text.escape(d["contact"] or customer), kind=d["kind"], owner=d["owner"])

    def _do(self, verb: str, args: list[str], actor: Actor) -> str:
        desk = self.desk
        lang = self._lang(actor)
        cannot = refused(actor, Verb.VIEW)
        if cannot is not None:
            return say(lang, "not-done", why=self._why(cannot, lang))
        if verb == "search":
            return self._search(actor, " ".join(args))
        if not args or not args[0].lstrip("#").isdigit():
            return f"{say(lang, 'which-ticket', verb=slack_text.escape(verb))}\n\n{help_text(lang)}"
        n = int(args[0].lstrip("#"))
        rest = " ".join(args[1:]).strip()
        tag = desk.tag(n)
        try:
            if verb == "show":
                d = queries.ticket_detail(desk, actor, n)
                if d is None:
                    return say(lang, "no-ticket", number=n)
                return slack_text.ticket_card(d, desk.dossier_url(n), queries.customer_card(desk, actor, n),
                                              language=lang)
            if verb == "take":
                actions.take(desk, actor, n, "taken in Slack")
                return say(lang, "taken", tag=tag)
            if verb == "assign":
                if not rest:
                    return say(lang, "assign-whom")
                who, _, reason = rest.partition(" ")
                person = actions.assign(desk, actor, n, who, reason or "assigned in Slack")
                return say(lang, "assigned", tag=tag, person=person)
            if verb == "resolve":
                actions.resolve(desk, actor, n, rest or None)
                return say(lang, "resolved", tag=tag)
            if verb == "reopen":
                actions.reopen(desk, actor, n, rest or None)
                return say(lang, "reopened", tag=tag)
            if verb == "kind":
                actions.set_kind(desk, actor, n, rest)
                return say(lang, "kind-now", tag=tag, kind=slack_text.escape(rest))
            if verb == "time":
                duration, _, note = rest.partition(" ")
                if not duration:
                    return say(lang, "how-long")
                out = actions.log_time(desk, actor, n, duration, note or None)
                return say(lang, "time-logged", tag=tag, duration=out["duration"], person=out["person"],
                           total=out["total"])
            if verb in ("hold", "release"):
                invoice, _, reason = rest.partition(" ")
                if not invoice:
                    return say(lang, "which-invoice", verb=verb)
                held = actions.hold_invoice(desk, actor, n, invoice, release=verb == "release",
                                            reason=reason or None)
                now_held = ", ".join(slack_text.escape(h["invoice"]) for h in held) or say(lang, "none")
                return say(lang, "released" if verb == "release" else "held", tag=tag,
                           invoice=slack_text.escape(invoice), held=now_held)
            if verb == "note":
                if not rest:
                    return say(lang, "note-needs-text")
                actions.add_note(desk, actor, n, rest)
                return say(lang, "note-added", tag=tag)
        except Refused as exc:
            return say(lang, "not-done", why=self._why(exc, lang))
        return f"{say(lang, 'unknown-command', verb=slack_text.escape(verb))}\n\n{help_text(lang)}"

    # ------------------------------------------------------------------ on behalf: shortcut, reaction
    def _customer_in(self, text: str, author_email: str = "") -> str:
        """The customer a message is about: its author when that is not one of the desk,
        else the first address in it that is not the desk's."""
        rs, own = self.desk.ruleset, self.desk.settings.all_own_addresses
        for addr in [author_email, *(m.group(0) for m in EMAIL.finditer(MAILTO.sub(r"\1", text)))]:
            addr = (addr or "").lower()
            if addr and addr not in own and rs.person_for_email(addr) is None:
                return addr
        return ""

    def on_shortcut(self, *, user: str, channel: str, message: dict) -> dict | None:
        actor = self._actor(user)
        lang = self._lang(actor)
        cannot = refused(actor, Verb.OPEN)
        if cannot is not None:
            with self.desk.uow.write() as s:
                slack_posts.tell_only(s, None, channel, user,
                                      say(lang, "not-done-icon", why=self._why(cannot, lang)),
                                      self.desk.clock())
            return None
        rs = self.desk.ruleset
        kinds = [(k, (v.label.get(lang) or v.label.get(rs.default_language) if v.label else None) or k)
                 for k, v in sorted(rs.kinds.items())] + [("call", say(lang, "modal-call"))]
        text = MAILTO.sub(r"\1", message.get("text") or "")
        meta = json.dumps({"channel": channel, "ts": message.get("ts")})
        return slack_text.on_behalf_view(SHORTCUT, meta, self._customer_in(text), text, kinds,
                                         language=lang)

    def on_view_submission(self, *, user: str, values: dict, private_metadata: str
                           ) -> dict[str, str] | None:
        try:
            meta = json.loads(private_metadata or "{}")
        except ValueError:
            meta = {}
        channel, ts = meta.get("channel"), meta.get("ts")
        get = lambda block: (values.get(block) or {}).get(block)  # noqa: E731
        customer, text = (get("customer") or "").strip(), get("text") or ""
        actor = self._actor(user)
        lang = self._lang(actor)
        if "@" not in customer:
            return {"customer": say(lang, "modal-need-address")}
        try:
            d = actions.open_on_behalf(self.desk, actor, customer, get("kind") or None,
                                       text, ack="ack" in (get("ack") or []),
                                       source="slack-shortcut",
                                       ref=f"{channel}:{ts}" if channel and ts else None)
        except Refused as exc:  # a modal's error is plain text, not mrkdwn
            block = "customer" if exc.code in ("not-an-address", "own-address") else "text"
            return {block: exc.words("slack", lang)[:150]}
        if channel:
            with self.desk.uow.write() as s:
                slack_posts.tell_only(s, d["number"], channel, user, self._opened(d, lang),
                                      self.desk.clock())
        return None

    def on_reaction(self, *, channel: str, ts: str, user: str, reaction: str,
                    fetch: Callable[[], dict | None]) -> None:
        """The intake reaction (rules.yaml slack: intake_reaction) on any message of a
        channel the bot is in: that message is a ticket, once."""
        wanted = self.desk.ruleset.slack.get("intake_reaction")
        actor = self._actor(user)
        if not wanted or reaction.split("::")[0] != wanted or refusal(actor, Verb.OPEN):
            return
        message = fetch()
        desk = self.desk
        lang = self._lang(actor)
        if message is None:
            answer = say(lang, "cannot-read")
        else:
            customer = self._customer_in(message.get("text") or "", message.get("email") or "")
            author_is_customer = customer and customer == (message.get("email") or "").lower()
            try:
                if not customer:
                    raise Refused("which customer is it? Use the message's shortcut "
                                  "“Create ticket for…” to give their address", code="which-customer")
                d = actions.open_on_behalf(
                    desk, actor, customer, None, message.get("text") or "",
                    name=(message.get("name") or "") if author_is_customer else "",
                    source="slack-reaction", ref=f"{channel}:{ts}")
                answer = self._opened(d, lang)
            except Refused as exc:
                answer = say(lang, "not-done-icon", why=self._why(exc, lang))
        with desk.uow.write() as s:
            slack_posts.tell_only(s, None, channel, user, answer, desk.clock())

    @staticmethod
    def _opened(d: dict, lang: str) -> str:
        if d.get("duplicate"):
            return say(lang, "opened-already", tag=d["tag"])
        return say(lang, "opened", tag=d["tag"], contact=slack_text.escape(d["contact"] or ""),
                   kind=d["kind"], owner=d["owner"])

    def _search(self, actor: Actor, words: str) -> str:
        words = words.strip()
        lang = self._lang(actor)
        if not words:
            return say(lang, "search-what")
        found = queries.search(self.desk, actor, words)
        if not found:
            return say(lang, "nothing-found", words=slack_text.escape(words))
        return slack_text.search_lines([(d["tag"], d["status"], d["owner"], d["subject"])
                                        for d in found], lang)
