"""mojdfe_assets: a Dagster asset graph for the MoJ-DfE linked CIN/CLA research dataset."""
