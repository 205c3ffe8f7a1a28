"""The report tests' folder of results (see report_fixtures)."""

import pytest
from report_fixtures import write_results_dir


@pytest.fixture
def results_dir(tmp_path):
    return write_results_dir(tmp_path)
