"""Forecasting where incidents concentrate next: baselines, our model, the backtest (pure)."""
