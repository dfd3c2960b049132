import dagster as dg
import pandas as pd

from mojdfe_assets.resources import ParquetIOManager


def test_parquet_round_trip_keeps_types(tmp_path):
    df = pd.DataFrame(
        {
            "code": pd.Categorical(["U4", None, "K2"], categories=["K2", "U4", "P1"]),
            "n": pd.array([1, None, 3], dtype="Int64"),
            "flag": pd.array([True, None, False], dtype="boolean"),
            "when": pd.to_datetime(["2010-05-03", None, "2011-01-01"]),
            "text": pd.array(["a", None, "c"], dtype="string[pyarrow]"),
        }
    )

    @dg.asset
    def table() -> pd.DataFrame:
        return df

    @dg.asset
    def copy(table: pd.DataFrame) -> pd.DataFrame:
        return table

    io = ParquetIOManager(base_dir=str(tmp_path))
    result = dg.materialize([table, copy], resources={"io_manager": io})
    assert result.success
    # the run wrote into its own folder; publishing makes it what readers see
    assert (tmp_path / "runs" / result.run_id / "copy.parquet").exists() and not (tmp_path / "current").exists()
    snapshot = io.publish([result.run_id])
    assert (tmp_path / "current").resolve() == snapshot
    import pyarrow.parquet as pq

    from mojdfe_assets.resources import read_parquet

    assert str(pq.read_schema(tmp_path / "current" / "copy.parquet").field("when").type) == "date32[day]"  # R: Date
    back = read_parquet(tmp_path / "current" / "copy.parquet")
    assert list(back["code"].cat.categories) == ["K2", "U4", "P1"]
    assert back["n"].tolist()[0] == 1 and pd.isna(back["n"][1])
    assert str(back["flag"].dtype) == "boolean"
    assert back["when"][0] == pd.Timestamp("2010-05-03") and str(back["when"].dtype).startswith("datetime64")
    assert not list(tmp_path.rglob("*.tmp"))  # no temporary files left behind
