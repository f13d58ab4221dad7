"""The legacy path: read the old env-var experiment scripts and their results.

    python -m zo_sweep.legacy convert legacy_scripts/Llama-3.2-1B/1_0_mezo_orig_copa.sh
    python -m zo_sweep.legacy import-results results/

See docs/legacy.md.
"""
