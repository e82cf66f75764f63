from typer.testing import CliRunner

from honnin.cli import app


def test_unknown_benchmark_is_a_one_line_error() -> None:
    result = CliRunner().invoke(app, ["bench", "no_such_bench"])
    assert result.exit_code == 1
    assert "no benchmark named 'no_such_bench'" in result.output
