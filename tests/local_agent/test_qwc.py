"""The .qwc file the bookkeeper adds to the Web Connector (contract §3)."""

from __future__ import annotations

from lxml import etree

from local_agent import qwc
from local_agent.config import AgentConfig

ORDER = ["AppName", "AppID", "AppURL", "AppDescription", "AppSupport", "UserName", "OwnerID", "FileID",
         "QBType", "Scheduler", "IsReadOnly", "PersonalDataPref", "UnattendedModePref"]  # fmt: skip


def test_qwc_has_every_required_element_with_a_localhost_url() -> None:
    config = AgentConfig(server="https://qb.example.com", port=8799, user_name="bk & co")
    root = etree.fromstring(qwc.render(qwc.from_config(config)).encode())
    assert root.tag == "QBWCXML"
    assert [el.tag for el in root] == ORDER
    assert root.findtext("AppURL") == "http://localhost:8799/qbwc"
    assert root.findtext("AppSupport") == "http://localhost:8799/support"  # one domain with AppURL (QBWC1000)
    assert root.findtext("UserName") == "bk & co"
    assert root.findtext("OwnerID") == config.owner_id and root.findtext("FileID") == config.file_id
    assert root.findtext("QBType") == "QBFS" and root.findtext("IsReadOnly") == "false"
    assert root.findtext("Scheduler/RunEveryNMinutes") == "1"


def test_rewriting_keeps_the_same_ids() -> None:
    config = AgentConfig()
    assert qwc.render(qwc.from_config(config)) == qwc.render(qwc.from_config(config))
