"""Would a statistical kind fallback help? (issue 16, session routing4; not part of the bot)

Cross-validation by batch: for each labelled batch (routing_eval; held-out 1-121, 122-161,
162-221) train TF-IDF character n-grams + logistic regression on the OTHER batches, and
score that batch: the classifier alone, and as a fallback that proposes a kind only for the
mails the rules leave to the catch-all (`anything-else`), above a confidence threshold.
Run for two rule files (e.g. main's and this branch's):

    pip install scikit-learn==1.9.1
    git show main:rules.yaml > /tmp/rules-main.yaml
    PYTHONPATH=. python scripts/kind_fallback_cv.py /tmp/rules-main.yaml rules.yaml
"""

from __future__ import annotations

import sys
import warnings
from pathlib import Path

from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline

from bench import routing
from bot.core.mail.prepare import prepare
from bot.core.mail.quotes import without_signature

warnings.filterwarnings("ignore")


def text(set_dir: Path, name: str) -> str:
    m = prepare((set_dir / "mails" / name).read_bytes(), name).message
    att = "\n".join(a.text for a in m.attachments if a.text)
    return f"{m.subject}\n{without_signature(m.visible_text or m.text)}\n{att}"


def batch(set_name: str, name: str) -> str:
    if set_name == "routing_eval":
        return "eval"
    n = int(name.split("-", 1)[0])
    return "h1" if n <= 121 else "h2" if n <= 161 else "h3"


def main(rule_files: list[str]) -> None:
    for rules in rule_files:
        rows = [(batch(s, c.file), c.label["kind"], c.got["kind"], c.got["rule"], text(d, c.file))
                for s, d in routing.SETS.items()
                for c in routing.evaluate(rules_path=Path(rules), set_dir=d)]
        print(f"rules {rules}")
        for b in ("eval", "h1", "h2", "h3"):
            train = [r for r in rows if r[0] != b]
            test = [r for r in rows if r[0] == b]
            clf = make_pipeline(TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5),
                                                sublinear_tf=True, min_df=2),
                                LogisticRegression(max_iter=2000, C=10))
            clf.fit([r[4] for r in train], [r[1] for r in train])
            probs = clf.predict_proba([r[4] for r in test])
            classes = clf.classes_
            alone = sum(classes[p.argmax()] == r[1] for p, r in zip(probs, test, strict=True))
            fall = [(p, r) for p, r in zip(probs, test, strict=True) if r[3] == "anything-else"]
            line = f"  {b:5} {len(test):3} mails; classifier alone {alone / len(test):.1%} kind; " \
                   f"{len(fall)} to the catch-all, kind right by rules {sum(r[2] == r[1] for _, r in fall)}"
            for th in (0.0, 0.4, 0.6):
                right = sum((classes[p.argmax()] if p.max() >= th else r[2]) == r[1] for p, r in fall)
                line += f"; fallback >= {th}: {right}"
            print(line)


if __name__ == "__main__":
    main(sys.argv[1:] or [str(routing.RULES)])
