# codecfake — every target is a thin wrapper over the `codecfake` CLI (see `make help`).
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON_BASE ?= python3.11
VENV        ?= .venv
PY          := $(VENV)/bin/python
CLI         := $(VENV)/bin/codecfake
export HF_HUB_OFFLINE := 1
export TOKENIZERS_PARALLELISM := false

# ---- variables (documented in `make help`) ----
DATA      ?= demo
ROOT      ?=
MODEL     ?= mel
MODEL_DIR ?=
LAYERS    ?= 5
PRECISION ?=
RESAMPLER ?=
STORE_DTYPE ?=
DEV_LOSS  ?=
CSAM_DRAW ?=
MEL       ?=
PRESET    ?=
STORE     ?= features
BATCH     ?=
DEVICE    ?= auto
CLUSTER   ?=
BACKEND   ?= aasist
OPT       ?= adam
TASK      ?= cotrain
FEATURES  ?=
EPOCHS    ?=
LR        ?=
SEED      ?=
NAME      ?=
RUN       ?=
RUNS      ?= runs
SEEDS     ?=
MATRIX    ?=
PROTOCOL  ?=
REPORT    ?=
SIZE      ?= default
DEMO_DIR  ?= data/mini-codecfake
FORCE     ?=
PAPER     ?=
RESAMPLES ?=
A         ?=
B         ?=
PARTS     ?=
ALLOW_MISSING ?=
ASV_SCORES ?=
FUSE      ?=
OUT       ?=
AUGMENT   ?=
CLEAN_PROB ?=
FEATAUG   ?=
HOLD_OUT  ?=
DEGRADE   ?=
GENERATORS ?=
THREADS   ?=

opt = $(if $(2),$(1) $(2))

# PORTABLE=1: the CPU code paths that decide float rounding pinned to what every x86-64 server CPU since 2013 runs
# (AVX2 kernels in torch and oneDNN, MKL's vendor-independent branch), so training numerics do not follow the
# machine's instruction sets; measured in bench/results/cpu_repro.json (docs/paper-fidelity.md, Reproducibility)
PORTABLE  ?=
ifneq ($(PORTABLE),)
export ATEN_CPU_CAPABILITY := avx2
export ONEDNN_MAX_CPU_ISA := AVX2
export MKL_CBWR := COMPATIBLE
endif

.PHONY: help venv test test-slow lint bench bench-store bench-store-ooc bench-store-write bench-extract bench-train bench-bootstrap bench-metrics bench-scale bench-gpu bench-fusion bench-augment bench-openset bench-matrix demo-data features corpus-check train evaluate robustness calibrate fuse export report compare demo experiments openset-loo clean-demo

help: ## this list
	@echo "codecfake — make targets"
	@grep -E '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*?## "}; {printf "  %-14s %s\n", $$1, $$2}'
	@echo
	@echo "Variables (default in brackets):"
	@echo "  DATA=demo|codecfake|asvspoof2019|itw|csv|asvspoof5|asvspoof2021la|asvspoof2021df|codecfakeplus"
	@echo "                 corpus for 'features' and 'corpus-check' [demo]"
	@echo "  ROOT=DIR       dataset root on disk (Codecfake/, LA/, release_in_the_wild/, the ASVspoof 5 / 2021 or"
	@echo "                 CodecFake+ folder, or a CSV path)"
	@echo "  MODEL=mel|xlsr|wavlm   extractor [mel]; MODEL_DIR=DIR local HF checkpoint folder (never downloaded)"
	@echo "  LAYERS=5       SSL hidden_states indices, comma separated [5]; on train: layers to fuse (learned"
	@echo "                 softmax weights), e.g. LAYERS=0,3,5 [not given: the sets' one array]"
	@echo "  PRECISION=fp32|bf16|fp16   SSL forward precision (recorded in the set's spec) [fp32, the release's]"
	@echo "  RESAMPLER=kaiser_best|soxr_hq   audio not at 16 kHz [kaiser_best, the release's; DATA=demo: soxr_hq]"
	@echo "  STORE_DTYPE=float16|float32   SSL features as stored [float16; float32 as the release, e.g. test PARTS]"
	@echo "  MEL=power|log  mel values [power, the release's; log with the demo preset (DATA=demo, make demo)]"
	@echo "  PRESET=NAME    configs/NAME.toml's values for the options not given; none: the paper's [features: demo"
	@echo "                 for DATA=demo, else none; train: the one its feature sets record (features --preset)]"
	@echo "  STORE=DIR      where feature sets live [features]"
	@echo "  BATCH=N        clips per forward (features) or per step (train) [extract: CPU 8, CUDA the largest that fits /"
	@echo "                 train 128, or the preset's: on the demo features configs/demo.toml's]"
	@echo "  DEVICE=auto|cpu|cuda   [auto];  CLUSTER=local:N or tcp://HOST:8786 for dask extraction (and experiments)"
	@echo "  BACKEND=aasist|lcnn  [aasist];  OPT=adam|sam|asam|csam|csam-pd  [adam: fits every TASK; csam needs cotrain]"
	@echo "  TASK=vocoder|codec|cotrain|trace [cotrain]"
	@echo "  FEATURES=KEY[,KEY]   feature sets to train on (default: the store's sets of extractor MODEL for TASK)"
	@echo "  EPOCHS= LR= SEED= NAME=   training overrides (paper: 10, 5e-4, 688; on sets made with a preset, EPOCHS,"
	@echo "                 BATCH, LR not given are the preset's: the demo's are configs/demo.toml's, as is Mel-LCNN's SAM radius)"
	@echo "  DEV_LOSS=exact|batch-mean   model selection: exact weighted dev loss, or the release's mean of shuffled"
	@echo "                 dev-batch means [exact]"
	@echo "  CSAM_DRAW=exact|release   csam batches: exact per-domain counts, or the release's CSAMSampler draw [exact]"
	@echo "  RUN=runs/NAME  run to evaluate;  RUNS=DIR [runs];  SEEDS=N runs per cell for 'experiments' [the matrix's]"
	@echo "  MATRIX=NAME    'experiments': configs/NAME.toml (paper-table3|paper-table4|paper-table8|paper-all|demo-default|"
	@echo "                 demo-full) or a .toml path [none: the demo's full matrix, corpus and features included]"
	@echo "  CLUSTER=local:N|tcp://HOST:8786  'experiments'/'demo': runs over dask (one worker per GPU, or N CPU workers)"
	@echo "  PROTOCOL=loo   'experiments': one run per training generator left out [the matrix's];  REPORT=1 tables only"
	@echo "  A=runs/X B=runs/Y   runs for 'compare' (seeds of one config: comma separated);  RESAMPLES=N bootstrap [1000]"
	@echo "  ASV_SCORES=FILE  ASVspoof 2019 LA eval ASV scores for 19LA's min t-DCF [found under the LA root]"
	@echo "  PARTS=train,dev,C1,...   dataset parts for 'features' (Codecfake label files train,dev,C1..C7,C3-1..C4-3,"
	@echo "                 A1..A3; ASVspoof 2019 LA and ASVspoof 5 train,dev,eval; ASVspoof 2021 progress,eval,hidden;"
	@echo "                 CodecFake+ train,dev,CoRS,CoSG) [every part found]; one feature set per part"
	@echo "  FUSE=\"runs/a runs/b\" NAME=F   runs to fuse into runs/F ('fuse');  OUT=DIR  export folder [RUN/export]"
	@echo "  ALLOW_MISSING=1  extract parts whose audio is partly absent, the absent clips kept as rejects [refuse]"
	@echo "  SIZE=small|default  demo corpus size [default];  FORCE=1 overwrite instead of resume"
	@echo "  PORTABLE=1     pin CPU numerics to AVX2 kernels + MKL's vendor-independent branch (features, train, demo):"
	@echo "                 removes the instruction-set dependence of training (measured on one CPU model; keep the"
	@echo "                 thread count too; other CPU vendors untested) [off]"
	@echo "  PAPER=1        evaluate: report min(EER(s), EER(-s)) as the paper's tables do"
	@echo "  AUGMENT=rawboost:3,codec:2   features: also V augmented variants of the training clips (codecfake augment;"
	@echo "                 FORCE=1 then only overrides the disk check); train: read one stored copy per clip per epoch"
	@echo "                 [none: the paper's]; families rawboost, codec, resample, lowpass, noise (docs/augment.md)"
	@echo "  CLEAN_PROB=0.5 train with AUGMENT: probability of the clean copy [uniform over a clip's copies]"
	@echo "  FEATAUG=tmask:8,fmask:10,mixup:0.2   train: zero-disk augmentation of the cached features [none]"
	@echo "  HOLD_OUT=C3    train without these generators' fakes (C1..C7, A01..A06); evaluate reports them as unseen"
	@echo "  DEGRADE=mp3:32k,opus:12k,amr,resample:8k,noise:20db   robustness: the laundering conditions [these]"
	@echo "  GENERATORS=C1,A01   openset-loo: the generators held out one at a time [every training generator]"
	@echo "  THREADS=N      train, openset-loo: torch CPU threads per training/scoring [torch default; 1 on a loaded machine]"

$(VENV)/.done: pyproject.toml
	@command -v $(PYTHON_BASE) >/dev/null || { echo "need $(PYTHON_BASE) (the CPU torch wheel is for Python 3.11)"; exit 1; }
	test -x $(PY) || $(PYTHON_BASE) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade "pip>=23" "setuptools>=68,<81" wheel
	# CPU torch first: a bare `torch` requirement would pull a multi-GB CUDA build.
	$(PY) -c "import torch" 2>/dev/null || $(PY) -m pip install -q torch==2.13.0
	$(PY) -m pip install -q -e ".[dev]"
	$(PY) -c "import pyworld" 2>/dev/null || $(PY) -m pip install -q --no-build-isolation "pyworld>=0.3.4" || echo "warning: pyworld failed to build; the demo's WORLD vocoder attack will be skipped"
	bash scripts/install-system-deps.sh || echo "warning: system packages (espeak-ng, flite, festival) missing; the demo's TTS attacks will be skipped"
	touch $@

venv: $(VENV)/.done ## create .venv (idempotent): CPU torch, then -e .[dev], then apt tools for the demo

test: venv ## fast tests (CPU, < 5 min)
	$(PY) -m pytest -q

test-slow: venv ## slow and GPU tests too
	$(PY) -m pytest -q -m "slow or not slow"

lint: venv ## ruff (lint rules, import order, formatting), then mypy over the library (config: pyproject.toml)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(PY) scripts/typecheck_tree.py
	$(VENV)/bin/mypy

bench: bench-store bench-extract bench-train bench-bootstrap bench-metrics bench-fusion bench-openset ## all benchmarks -> bench/results/*.json

bench-store: venv ## feature-store read/write benchmark -> bench/results/store.json
	$(PY) bench/store.py

bench-store-ooc: venv ## cold reads of a set larger than RAM (60k clips, 24.7 GB on disk, deleted after) -> bench/results/store_ooc.json
	$(PY) bench/store_ooc.py

bench-store-write: venv ## write path: per-shard fixed cost and MB/s vs the disk's sequential write -> bench/results/store_write.json
	$(PY) bench/store_write.py

bench-extract: venv ## extraction benchmark (full-size random XLS-R) -> bench/results/extract.json
	$(PY) bench/extract.py $(call opt,--device,$(DEVICE))

bench-train: venv ## loader + epoch benchmark, ours vs .pt per clip -> bench/results/train.json
	$(PY) bench/train.py

bench-bootstrap: venv ## bootstrap EER intervals, vectorised vs a compute_eer loop -> bench/results/bootstrap.json
	$(PY) bench/bootstrap.py

bench-metrics: venv ## EER/minDCF/actDCF/Cllr/minCllr + intervals on 680,774 trials, vectorised vs a loop -> bench/results/metrics.json
	$(PY) bench/metrics.py

bench-scale: venv ## 1.1 M-clip dry run (labels, hash, store, sampler; no audio) -> bench/results/scale.json
	$(PY) bench/scale.py

bench-gpu: venv ## one GPU: XLS-R extraction, AASIST steps, streamed loader (< 8 min) -> bench/results/gpu.json
	$(PY) -m bench.gpu

bench-matrix: venv ## experiment matrix: local:2 vs serial, shared vs separate reads, planning paper-all at 1.1 M clips -> bench/results/matrix.json
	$(PY) -m bench.matrix

bench-augment: venv ## augmentation clips/s per core per family vs decode, GPU feed share, streamed data wait -> bench/results/augment.json
	$(PY) bench/augment.py

bench-fusion: venv ## fused-layer batch reads, one StackedReader call vs per-layer reads + stack -> bench/results/fusion_read.json
	$(PY) bench/fusion_read.py

bench-openset: venv ## open-set scorers: Mahalanobis and kNN fit + per-clip time, demo and 740k x 256 -> bench/results/openset.json
	$(PY) bench/openset.py

demo-data: venv ## build the mini-Codecfake demo corpus (SIZE=small|default)
	$(CLI) corpus demo --out $(DEMO_DIR) --size $(SIZE)

features: venv ## extract features into the store (DATA=, ROOT=, MODEL=, MODEL_DIR=, LAYERS=, STORE=, PARTS=, PRESET=, AUGMENT=)
	$(CLI) $(if $(AUGMENT),augment --augment $(AUGMENT),features) $(call opt,--preset,$(or $(PRESET),$(if $(filter demo,$(DATA)),demo))) --data $(DATA) $(call opt,--root,$(ROOT)) --extractor $(MODEL) $(call opt,--model-dir,$(MODEL_DIR)) \
	  --layers $(LAYERS) $(call opt,--precision,$(PRECISION)) $(call opt,--resampler,$(RESAMPLER)) \
	  $(call opt,--store-dtype,$(STORE_DTYPE)) $(call opt,--mel-values,$(MEL)) --store $(STORE) --device $(DEVICE) \
	  $(call opt,--batch,$(BATCH)) $(call opt,--cluster,$(CLUSTER)) \
	  --demo-dir $(DEMO_DIR) --size $(SIZE) $(call opt,--parts,$(PARTS)) $(if $(ALLOW_MISSING),--allow-missing) \
	  $(if $(FORCE),--force)

corpus-check: venv ## ingest check of a dataset on disk: listed vs found, rates, durations, silence, duplicates, leakage (DATA=, ROOT=)
	@test -n "$(ROOT)" || { echo "usage: make corpus-check DATA=asvspoof5 ROOT=DIR"; exit 2; }
	$(CLI) corpus check $(DATA) $(ROOT) $(call opt,--parts,$(PARTS))

train: venv ## train a back-end from the store (BACKEND=, OPT=, TASK=, FEATURES=, EPOCHS=, LAYERS=, PRESET=, DEV_LOSS=, ...)
	$(CLI) train --backend $(BACKEND) --opt $(OPT) --task $(TASK) --store $(STORE) --runs $(RUNS) --device $(DEVICE) \
	  $(if $(FEATURES),--features $(FEATURES),--extractor $(MODEL)) $(call opt,--epochs,$(EPOCHS)) $(call opt,--batch,$(BATCH)) \
	  $(call opt,--lr,$(LR)) $(call opt,--seed,$(SEED)) $(call opt,--name,$(NAME)) $(if $(FORCE),--force) \
	  $(if $(filter command line environment,$(origin LAYERS)),--layers $(LAYERS)) $(call opt,--preset,$(PRESET)) \
	  $(call opt,--dev-loss,$(DEV_LOSS)) $(call opt,--csam-draw,$(CSAM_DRAW)) \
	  $(call opt,--augment,$(AUGMENT)) $(call opt,--clean-prob,$(CLEAN_PROB)) $(call opt,--feataug,$(FEATAUG)) \
	  $(call opt,--hold-out,$(HOLD_OUT)) $(call opt,--threads,$(THREADS))

evaluate: venv ## score a run on every matching test set and write its report (RUN=runs/NAME, PAPER=1)
	@test -n "$(RUN)" || { echo "usage: make evaluate RUN=runs/NAME"; exit 2; }
	$(CLI) evaluate --run $(RUN) --store $(STORE) --device $(DEVICE) $(call opt,--resamples,$(RESAMPLES)) \
	  $(call opt,--asv-scores,$(ASV_SCORES)) $(if $(PAPER),--paper)

robustness: venv ## EER of a run on its test sets laundered by DEGRADE= (RUN=runs/NAME) -> RUN/robustness/
	@test -n "$(RUN)" || { echo "usage: make robustness RUN=runs/NAME [DEGRADE=mp3:32k,opus:12k,amr,resample:8k,noise:20db]"; exit 2; }
	$(CLI) robustness --run $(RUN) --store $(STORE) --device $(DEVICE) $(call opt,--degrade,$(DEGRADE)) \
	  $(call opt,--resamples,$(RESAMPLES)) $(call opt,--model-dir,$(MODEL_DIR)) $(if $(FORCE),--force)

calibrate: venv ## fit RUN's calibration on its dev scores: LLRs beside the scores, actDCF/Cllr on them (RUN=runs/NAME)
	@test -n "$(RUN)" || { echo "usage: make calibrate RUN=runs/NAME"; exit 2; }
	$(CLI) calibrate $(RUN) $(call opt,--resamples,$(RESAMPLES))

fuse: venv ## score fusion of evaluated runs, fitted on dev, written as runs/NAME (FUSE="runs/a runs/b" NAME=F)
	@test -n "$(FUSE)" -a -n "$(NAME)" || { echo 'usage: make fuse FUSE="runs/a runs/b" NAME=F'; exit 2; }
	$(CLI) fuse $(FUSE) --name $(NAME) --runs-dir $(RUNS) $(call opt,--resamples,$(RESAMPLES))

export: venv ## RUN's scores for the Speech Anti-Spoofing Arena and Speech-DF-Arena, with checksums (RUN=, OUT=)
	@test -n "$(RUN)" || { echo "usage: make export RUN=runs/NAME"; exit 2; }
	$(CLI) export $(RUN) $(call opt,--out,$(OUT))

report: venv ## one table over several runs (RUNS=DIR)
	$(CLI) report $(RUNS)/*/ $(call opt,--resamples,$(RESAMPLES))

compare: venv ## paired bootstrap ΔEER of two runs per condition and CAVG/AVG (A=runs/X B=runs/Y)
	@test -n "$(A)" -a -n "$(B)" || { echo "usage: make compare A=runs/X B=runs/Y"; exit 2; }
	$(CLI) compare $(A) $(B) $(call opt,--resamples,$(RESAMPLES))

demo: venv ## the whole pipeline on the mini-Codecfake corpus -> docs/demo-results.md
	$(CLI) demo --store $(STORE) --runs $(RUNS) --demo-dir $(DEMO_DIR) --size $(SIZE) --device $(DEVICE) $(call opt,--cluster,$(CLUSTER))

experiments: venv ## a matrix of runs -> experiments/MATRIX/results.md (MATRIX=paper-table8 STORE= SEEDS= CLUSTER=local:N); no MATRIX: the demo's full matrix
	$(if $(MATRIX),$(CLI) experiments $(MATRIX) --store $(STORE) --runs $(RUNS) --device $(DEVICE) $(call opt,--seeds,$(SEEDS)) \
	  $(call opt,--cluster,$(CLUSTER)) $(call opt,--protocol,$(PROTOCOL)) $(if $(REPORT),--report),$(CLI) demo --store $(STORE) \
	  --runs $(RUNS) --demo-dir $(DEMO_DIR) --size $(SIZE) --full $(call opt,--seeds,$(SEEDS)) --device $(DEVICE) $(call opt,--cluster,$(CLUSTER)))

openset-loo: venv ## leave-one-generator-out trace runs choose the open-set scorer -> docs/openset-results.md
	$(CLI) openset-loo --store $(STORE) --runs $(RUNS) --device $(DEVICE) \
	  --extractor $(MODEL) $(call opt,--generators,$(GENERATORS)) $(call opt,--resamples,$(RESAMPLES)) $(call opt,--threads,$(THREADS))

clean-demo: venv ## remove the demo corpus, its feature sets and the demo-* runs (nothing else)
	$(CLI) demo --clean --store $(STORE) --runs $(RUNS) --demo-dir $(DEMO_DIR)
