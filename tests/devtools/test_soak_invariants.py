"""The soak's invariant checker catches each kind of violation (so a soak cannot pass
because its checker is blind), and passes a consistent ledger."""

from __future__ import annotations

import dataclasses

import pytest

from scripts.soak.invariants import AuditRecord, Display, Evidence, StoredSecret, check
from scripts.soak.ledger import Click, Ledger, Revoke, Share
from scripts.soak.report import as_json
from scripts.soak.run import Result

ALICE, BOB, EVE = "U0ALICE", "U0BOB", "U0EVE"
TOKEN = "soak-secret-" + "ab" * 12
PASSPHRASE = "soak-pass-" + "cd" * 8
CODE = "G2VQ-N9JM-FQG4"
SECRET_ID = "G2VQN9JMFQG4" + "x" * 16


def world() -> tuple[Ledger, Evidence]:
    """Alice shares with Bob (one view); Bob reveals it once; it burns; all audited."""
    ledger = Ledger()
    ledger.add_share(Share(label="soak-label-1", sender=ALICE, recipients=(BOB,), mode="each",
                           total=None, plaintext=f"password: {TOKEN}", passphrase=None,
                           expiry_seconds=3600, submitted_at=1000.0, outcome="confirmed"))
    ledger.add(Click(kind="reveal", user=BOB, secret_id=SECRET_ID, trigger="t1",
                     outcome="seen", answer="shown"))
    stream = [AuditRecord("secret_created", CODE, ALICE), AuditRecord("secret_opened", CODE, BOB),
              AuditRecord("secret_burned", CODE, BOB)]
    lines = ["created line", "opened line", "burned line"]
    evidence = Evidence(
        stored={"soak-label-1": StoredSecret(code=CODE, label="soak-label-1", status="burned",
                                             revealable=False)},
        displays=[Display(token=TOKEN, trigger="t1", view_id=None, shown=True, maybe=True)],
        stream=stream, stream_lines=lines, posted_lines=list(lines),
        leaks={"the bot's log": []}, now=2000.0)
    return ledger, evidence


def violations(ledger: Ledger, evidence: Evidence) -> dict[str, int]:
    return {i.name: i.violations for i in check(ledger, evidence) if i.violations}


def test_a_consistent_ledger_passes():
    """Share, one reveal, burn, three audit events posted once each: no violation."""
    assert violations(*world()) == {}


def test_a_double_reveal_is_caught():
    """A second modal with the secret for Bob's single view is a violation."""
    ledger, evidence = world()
    ledger.add(Click(kind="reveal", user=BOB, secret_id=SECRET_ID, trigger="t2",
                     outcome="seen", answer="shown"))
    evidence.displays.append(Display(token=TOKEN, trigger="t2", view_id=None, shown=True,
                                     maybe=True))
    found = violations(ledger, evidence)
    assert found["secrets shown twice or to a non-recipient"] == 1
    # ...and the second show has no `secret_opened` event: the audit lost it.
    assert found["audit events lost"] == 1


def test_a_reveal_to_a_non_recipient_is_caught():
    """Eve's click showing the secret, and a modal from a click nobody made."""
    ledger, evidence = world()
    ledger.add(Click(kind="wrong_user", user=EVE, secret_id=SECRET_ID, trigger="t3",
                     recipient=False, outcome="seen", answer="shown"))
    evidence.displays += [Display(token=TOKEN, trigger="t3", view_id=None, shown=True,
                                  maybe=True),
                          Display(token=TOKEN, trigger="nobody", view_id=None, shown=False,
                                  maybe=True)]
    assert violations(ledger, evidence)["secrets shown twice or to a non-recipient"] == 2


def test_a_modal_slack_refused_is_not_a_reveal():
    """An expired trigger proves nothing was shown: a second attempt is no violation."""
    ledger, evidence = world()
    ledger.add(Click(kind="reveal", user=BOB, secret_id=SECRET_ID, trigger="t0"))
    evidence.displays.insert(0, Display(token=TOKEN, trigger="t0", view_id=None, shown=False,
                                        maybe=False))
    assert violations(ledger, evidence) == {}


@pytest.mark.parametrize(("stored", "why"), [
    (None, "not in Redis"),
    (StoredSecret(code=CODE, label="soak-label-1", status="active", revealable=False),
     "active but not revealable"),
    (StoredSecret(code=CODE, label="soak-label-1", status="revoked", revealable=False),
     "revoked, but nobody asked"),
    (StoredSecret(code=CODE, label="soak-label-1", status="expired", revealable=False),
     "expired early"),
])
def test_a_confirmed_share_lost_is_caught(stored, why):
    """Gone, unreadable, revoked by nobody or expired early: each counts as lost."""
    ledger, evidence = world()
    evidence.displays.clear()
    evidence.stream = evidence.stream[:1]
    evidence.stream_lines = evidence.posted_lines = ["created line"]
    if stored is None:
        del evidence.stored["soak-label-1"]
        evidence.stream = []
        evidence.stream_lines = evidence.posted_lines = []
    else:
        evidence.stored["soak-label-1"] = stored
    found = check(ledger, evidence)
    lost = next(i for i in found if i.name == "confirmed shares lost")
    assert lost.violations == 1
    assert why in lost.details[0]


def test_burned_without_a_modal_is_lost_but_a_revoke_asked_for_is_not():
    """Burned with no modal is lost; revoked after the sender asked is legitimate."""
    ledger, evidence = world()
    evidence.displays.clear()
    assert violations(ledger, evidence)["confirmed shares lost"] == 1
    ledger.add(Revoke(code=CODE, user=ALICE, admin=False, outcome="seen", answer="revoked"))
    evidence.stored["soak-label-1"] = dataclasses.replace(evidence.stored["soak-label-1"],
                                                          status="revoked")
    evidence.stream = [AuditRecord("secret_created", CODE, ALICE),
                       AuditRecord("secret_revoked", CODE, ALICE)]
    evidence.stream_lines = evidence.posted_lines = ["created line", "revoked line"]
    assert violations(ledger, evidence) == {}


def test_a_view_the_sweep_counted_after_its_process_stopped_may_have_been_shown():
    """A bot killed between marking a view as being shown and asking Slack to show it
    leaves no modal on record; the sweep counts the view as used and audits it so. That
    event (and only that one: not an ordinary secret_opened) stands for "maybe shown"."""
    from bot.audit.owed import SHOWN_WHEN_STOPPED

    ledger, evidence = world()
    evidence.displays.clear()
    evidence.stream[1] = AuditRecord("secret_opened", CODE, BOB)
    assert violations(ledger, evidence)["confirmed shares lost"] == 1
    evidence.stream[1] = AuditRecord("secret_opened", CODE, EVE, SHOWN_WHEN_STOPPED)
    assert violations(ledger, evidence)["confirmed shares lost"] == 1  # not Bob's view
    evidence.stream[1] = AuditRecord("secret_opened", CODE, BOB, SHOWN_WHEN_STOPPED)
    assert "confirmed shares lost" not in violations(ledger, evidence)


def test_audit_events_lost_or_duplicated_are_caught():
    """A missing event, a repeated one, a line never posted and a line posted twice."""
    ledger, evidence = world()
    evidence.stream = [evidence.stream[0], evidence.stream[1], evidence.stream[1]]
    evidence.posted_lines = ["created line", "opened line", "opened line"]
    found = violations(ledger, evidence)
    assert found["audit events lost"] == 2  # burned missing; "burned line" never posted
    assert found["audit events duplicated"] == 2  # opened twice; "opened line" posted twice


def test_refused_share_that_was_stored_is_caught():
    """Told "nothing was shared", yet stored."""
    ledger, evidence = world()
    ledger.shares["soak-label-1"].outcome = "refused"
    assert violations(ledger, evidence)["shares refused but stored"] == 1


def test_plaintext_found_anywhere_fails_the_soak():
    """A marker in a log fails the invariant, and a failed invariant fails the run."""
    ledger, evidence = world()
    evidence.leaks["the bot's log"] = [TOKEN, PASSPHRASE]
    invariants = check(ledger, evidence)
    assert violations(ledger, evidence) == {"plaintext found outside reveals": 2}
    result = Result(1.0, 1, ledger, invariants, [], {})
    assert not result.ok
    assert as_json(result)["ok"] is False


def test_an_expired_secret_awaiting_the_sweep_is_not_lost():
    """Past its expiry Redis has dropped the ciphertext before the sweep marks it: fine;
    the same secret before its expiry is lost."""
    ledger, evidence = world()
    evidence.displays.clear()
    evidence.stream = evidence.stream[:1]
    evidence.stream_lines = evidence.posted_lines = ["created line"]
    evidence.stored["soak-label-1"] = StoredSecret(code=CODE, label="soak-label-1",
                                                   status="active", revealable=False)
    evidence.now = 1000.0 + 3600
    assert violations(ledger, evidence) == {}
    evidence.now = 1000.0 + 3000
    assert violations(ledger, evidence) == {"confirmed shares lost": 1}
