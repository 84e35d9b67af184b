"""Is there a better kind model, or a better use of it? (issue 16; not part of the bot)

Cross-validation by batch, as `scripts/train_kind_model.py --cv`: batches eval, h1-h10, h12, h14, h15
(`batch()` there; held-out mails of the UNSEEN batches are in no figure and no
training), a model trained on the other batches scores the held-out one. Each mail is
routed once per rules view through the real desk (bench.routing.evaluate: `now`, the
rules as shipped; `before`, the rules as they stood before the mail's batch was written),
its rules decision kept from before the model; then every candidate model and policy is
applied to those decisions with kind_model.apply, the function the desk routes with, so
the figures are end to end (owner, kind, cancellation recall/precision, complaint recall).

Candidates: the shipped naive Bayes; multinomial logistic regression (L2, SGD, pure
Python, the same binary features, each mail's vector scaled to unit length, temperature
by log-loss); and, for either, letting the model also overrule a rule's kind
(advertising, appointment, invoice, question, remark, request, technical) at 0.90 / 0.95,
with or without cancellation as the overruling kind.

    PYTHONPATH=. python scripts/kind_model_candidates.py      # about 3 minutes
"""

from __future__ import annotations

import copy
import math
import random
import subprocess
import sys
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import train_kind_model as T  # noqa: E402

import bot.desk.routing as desk_routing  # noqa: E402
from bench import routing  # noqa: E402
from bot.adapters.rules_file import load_rules  # noqa: E402
from bot.core.rules import kind_model as K  # noqa: E402
from bot.core.rules.engine import resolve_target  # noqa: E402

FRESH = {"eval": "a918b68", "h1": "3449ac9", "h2": "7dccbc8", "h3": "5ada2ba", "h4": "98200bc",
         "h5": "0def845", "h6": "eaf4d66", "h7": "014f653", "h8": "c789c26", "h9": "0e465a1", "h10": "9cd4088",
         "h12": "2d28700", "h14": "572f21d", "h15": "c9aaa4f"}
OVERRULE_FROM = ("advertising", "appointment", "invoice", "question", "remark", "request", "technical")


# --------------------------------------------------------------------------- routed once
def capture(work: Path) -> dict[str, list]:
    """Per view, (batch, case, facts, decision before the model) of every mail in a batch."""
    seen: list = []
    real = desk_routing.apply_model

    def keep(rs, facts, d, model, explain=True):
        seen.append((facts, copy.deepcopy(d)))
        return real(rs, facts, d, model, explain)

    desk_routing.apply_model = keep  # type: ignore[assignment]

    def run(rules_path: Path, set_name: str, name: str) -> list:
        seen.clear()
        cases = routing.evaluate(rules_path=rules_path, set_dir=routing.SETS[set_name],
                                 kind_model=T.OUT, work=work / name)
        assert len(cases) == len(seen)
        return [(T.batch(set_name, c.file), c, f, d) for c, (f, d) in zip(cases, seen, strict=True)
                if T.batch(set_name, c.file)]  # a batch nobody may look at yet: dropped here

    try:
        now = run(routing.RULES, "routing_eval", "now-eval") + run(routing.RULES, "routing_holdout", "now-h")
        before = []
        for b, commit in FRESH.items():
            old = work / f"rules-{b}.yaml"
            old.write_text(T.with_kind_owners(subprocess.run(
                ["git", "show", f"{commit}^:rules.yaml"], check=True, capture_output=True, text=True).stdout))
            set_name = "routing_eval" if b == "eval" else "routing_holdout"
            before += [x for x in run(old, set_name, f"before-{b}") if x[0] == b]
    finally:
        desk_routing.apply_model = real  # type: ignore[assignment]
    return {"now": now, "before": before}


# --------------------------------------------------------------------------- logistic regression
class LinearModel(K.KindModel):
    """Softmax over bias + (sum of the present features' weights) / sqrt(their number)."""

    def score(self, feats, words=(), top=6):
        present = [self.weights[f] for f in feats if f in self.weights]
        c = 1 / math.sqrt(len(present)) if present else 1.0
        columns = zip(*present, strict=True) if present else [()] * len(self.kinds)
        logit = [a + c * sum(col) for a, col in zip(self.prior, columns, strict=True)]
        m = max(logit)
        exp = [math.exp((x - m) / self.temperature) for x in logit]
        z = sum(exp)
        probs = [e / z for e in exp]
        order = sorted(range(len(probs)), key=lambda i: (-probs[i], self.kinds[i]))
        return K.Proposal(self.kinds[order[0]], probs[order[0]], self.kinds[order[1]], (),
                          dict(zip(self.kinds, probs, strict=True)))


def train_lr(rows: Sequence[tuple[str, str, str]], lam: float = 1e-5, epochs: int = 15,
             rate: float = 0.5, min_df: int = 2) -> LinearModel:
    """Multinomial logistic regression, L2 `lam`, SGD (lazy L2 scaling), deterministic."""
    kinds = sorted({k for _, _, k in rows})
    docs = [(sorted(K.featurize(s, r)), kinds.index(k)) for s, r, k in rows]
    df: dict[str, int] = {}
    for fs, _ in docs:
        for f in fs:
            df[f] = df.get(f, 0) + 1
    index = {f: i for i, f in enumerate(sorted(f for f, n in df.items() if n >= min_df))}
    X = []
    for fs, y in docs:
        idx = [index[f] for f in fs if f in index]
        X.append((idx, y, 1 / math.sqrt(len(idx)) if idx else 1.0))
    n = len(kinds)
    W = [[0.0] * len(index) for _ in range(n)]
    bias = [0.0] * n
    scale, t = 1.0, 0
    order = list(range(len(X)))
    rnd = random.Random(1)
    for _ in range(epochs):
        rnd.shuffle(order)
        for j in order:
            idx, y, c = X[j]
            t += 1
            eta = rate / (1 + rate * lam * t)
            logits = [bias[k] + scale * c * sum(map(W[k].__getitem__, idx)) for k in range(n)]
            m = max(logits)
            e = [math.exp(x - m) for x in logits]
            z = sum(e)
            scale *= 1 - eta * lam
            for k in range(n):
                g = e[k] / z - (k == y)
                if abs(g) < 1e-5:
                    continue
                bias[k] -= eta * g
                step = eta * g * c / scale
                wk = W[k]
                for i in idx:
                    wk[i] -= step
    weights = {f: tuple(scale * W[k][i] for k in range(n)) for f, i in index.items()}
    return LinearModel(tuple(kinds), tuple(bias), weights, 1.0, T.THRESHOLD,
                       {"cancellation": T.CANCELLATION_THRESHOLD}, {})


# --------------------------------------------------------------------------- policies
def overrule(t: float | None, upgrade: float, to_cancellation: bool = True) -> Callable:
    """kind_model.apply, with its complaint upgrade at `upgrade`, and where a rule decided
    one of OVERRULE_FROM and the model says another kind at `t` or more (and that kind's
    own threshold), that kind with the owner its `assign` gives (else the catch-all's)."""
    def apply(rs, facts, d, model, explain=True):
        K.UPGRADE_THRESHOLD = upgrade
        p = K.apply(rs, facts, d, model, explain)
        if (t is None or d.model["applied"] or d.ignore or facts.automatic or d.kind not in OVERRULE_FROM
                or p.kind == d.kind or p.confidence < max(t, model.threshold_for(p.kind))
                or (p.kind == "cancellation" and not to_cancellation)):
            return p
        d.model["applied"] = True
        d.kind = p.kind
        kind = rs.kinds.get(p.kind)
        target = kind.assign if kind is not None and kind.assign else rs.rules[-1].actions.get("assign")
        if target:
            d.owner, d.owner_role, _ = resolve_target(rs, target, facts)
        return p
    return apply


def figures(captured: dict[str, list], rulesets: dict, models: dict, view: str, apply: Callable):
    total, per_kind = routing.Score(), {}
    for b, c, facts, d0 in captured[view]:
        d = copy.deepcopy(d0)
        if models.get(b) is not None:
            apply(rulesets["now" if view == "now" else b], facts, d, models[b], explain=False)
        got = {**c.got, "kind": d.kind, "owner": d.owner, "owner_role": d.owner_role,
               "category": d.category, "urgent": d.urgent}
        case = routing.Case(c.file, c.label, c.expected_owner, got)
        total.add(case)
        per_kind.setdefault(c.label["kind"], routing.Score()).add(case)
    return total, per_kind


def alone(models: dict, rows, temperatures) -> tuple[float, float, dict[str, float]]:
    """The model by itself: accuracy, log-loss (best temperature, then set) and per kind."""
    feats = [K.featurize(r[2], r[3]) for r in rows]
    best = None
    for t in temperatures:
        loss = 0.0
        for r, f in zip(rows, feats, strict=True):
            m = models[r[0]]
            m.temperature = t
            loss -= math.log(max(1e-12, m.score(f).scores[r[4]]))
        if best is None or loss < best[1]:
            best = (t, loss)
    assert best is not None
    right: dict[str, list[int]] = {}
    for r, f in zip(rows, feats, strict=True):
        m = models[r[0]]
        m.temperature = best[0]
        a = right.setdefault(r[4], [0, 0])
        a[0] += m.score(f).kind == r[4]
        a[1] += 1
    acc = sum(a[0] for a in right.values()) / len(rows)
    return acc, best[1] / len(rows), {k: a[0] / a[1] for k, a in sorted(right.items())}


def main() -> int:
    rows = T.labelled_rows()
    batches = sorted({r[0] for r in rows})
    captured = capture(Path(tempfile.mkdtemp(prefix="tb-kindcand-")))
    rulesets = {"now": load_rules(routing.RULES)}
    work_rules = Path(tempfile.mkdtemp(prefix="tb-kindcand-rules-"))
    for b, commit in FRESH.items():
        p = work_rules / f"rules-{b}.yaml"
        p.write_text(T.with_kind_owners(subprocess.run(
            ["git", "show", f"{commit}^:rules.yaml"], check=True, capture_output=True, text=True).stdout))
        rulesets[b] = load_rules(p)
    nb = {b: K.from_data(K.train([r[2:] for r in rows if r[0] != b], threshold=T.THRESHOLD,
                                 thresholds={"cancellation": T.CANCELLATION_THRESHOLD}))
          for b in batches}
    lr = {b: train_lr([r[2:] for r in rows if r[0] != b]) for b in batches}
    print("model alone (accuracy, log-loss at the best temperature, accuracy per kind):")
    for name, models, temps in (("naive Bayes", nb, T.TEMPERATURES), ("logistic regression", lr,
                                                                       (0.3, 0.4, 0.5, 0.6, 0.75, 1.0))):
        acc, loss, per = alone(models, rows, temps)
        print(f"| {name} | {100 * acc:.1f} | {loss:.3f} | "
              + " | ".join(f"{k} {100 * v:.0f}" for k, v in per.items()) + " |")
    candidates = [("rules alone", {}, overrule(None, 0.90))]
    for name, models, up in (("naive Bayes (shipped)", nb, 0.90), ("logistic regression", lr, 0.95)):
        candidates.append((name, models, overrule(None, up)))
        for t in (0.90, 0.95):
            candidates.append((f"{name}, overrules at {t:.2f}", models, overrule(t, up)))
            candidates.append((f"{name}, overrules at {t:.2f}, never to cancellation", models,
                               overrule(t, up, to_cancellation=False)))
    kinds = sorted({r[4] for r in rows})
    for view in ("before", "now"):
        print(f"\nrules {'as they stood before each batch' if view == 'before' else 'as shipped now'}:")
        print("| candidate | owner % | kind % | cancel recall % | cancel precision % | complaint recall % | "
              + " | ".join(f"{k} kind %" for k in kinds) + " |")
        for name, models, apply in candidates:
            s, per = figures(captured, rulesets, models, view, apply)
            f = s.figures()
            print(f"| {name} | {routing._pct(f['owner'])} | {routing._pct(f['kind'])} | "
                  f"{routing._pct(f['cancel_recall'])} | {routing._pct(f['cancel_precision'])} | "
                  f"{routing._pct(f['complaint_recall'])} | "
                  + " | ".join(f"{100 * per[k].kind / per[k].n:.0f}" for k in kinds) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
