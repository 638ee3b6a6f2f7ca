//! Sweep figures (to come).
