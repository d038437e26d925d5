"""The paper-parity gate (G1, R9): paper marks, anomaly rules, weekly parity, the firing."""
