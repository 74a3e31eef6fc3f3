"""A Work source held in memory, for testing the session machine without a queue or a cloud."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from local_agent.soap.session import HostInfo, Job


@dataclass
class MemoryWork:
    jobs: list[Job] = field(default_factory=list)
    want: bool = False
    follow_ups: list[Job] = field(default_factory=list)  # what the cloud sends after a delivery
    delivered: list[tuple[str, str | None, str | None, str | None]] = field(default_factory=list)
    abandoned: list[str] = field(default_factory=list)
    started: list[HostInfo] = field(default_factory=list)
    ended: list[tuple[str, str | None]] = field(default_factory=list)
    connection_errors: list[tuple[str, str]] = field(default_factory=list)
    pauses: list[str] = field(default_factory=list)

    def wants_session(self) -> bool:
        return self.want or bool(self.jobs)

    def next_job(self, session_id: str) -> Job | None:
        return self.jobs.pop(0) if self.jobs else None

    def remaining(self) -> int:
        return len(self.jobs)

    def follow_up(self, session_id: str) -> bool:
        if self.follow_ups:
            self.jobs.append(self.follow_ups.pop(0))
            return True
        return False

    def deliver(
        self, job_id: str, *, response: str | Iterable[str] | None, hresult: str | None, message: str | None
    ) -> None:
        # an iterator read's merged answer comes as pieces of text, as the queue takes it
        whole = response if response is None or isinstance(response, str) else "".join(response)
        self.delivered.append((job_id, whole, hresult, message))

    def abandon(self, job_id: str, session_id: str) -> None:
        self.abandoned.append(job_id)

    def session_started(self, session_id: str, info: HostInfo) -> None:
        self.started.append(info)

    def session_ended(self, session_id: str, summary: str, error: str | None) -> None:
        self.ended.append((summary, error))

    def connection_error(self, session_id: str, hresult: str, message: str) -> None:
        self.connection_errors.append((hresult, message))

    def sign_ins_paused(self, message: str) -> None:
        self.pauses.append(message)


def request(body: str, version: str = "13.0") -> str:
    return (
        f'<?xml version="1.0" encoding="utf-8"?><?qbxml version="{version}"?>'
        f'<QBXML><QBXMLMsgsRq onError="stopOnError">{body}</QBXMLMsgsRq></QBXML>'
    )


def response(body: str) -> str:
    return f'<?xml version="1.0" ?><QBXML><QBXMLMsgsRs>{body}</QBXMLMsgsRs></QBXML>'


HCP = response(
    '<HostQueryRs statusCode="0" statusSeverity="Info" statusMessage="Status OK"><HostRet>'
    "<ProductName>QuickBooks Enterprise Solutions: Contractor 24.0</ProductName>"
    "<MajorVersion>34</MajorVersion><MinorVersion>0</MinorVersion><Country>US</Country>"
    "<SupportedQBXMLVersion>12.0</SupportedQBXMLVersion><SupportedQBXMLVersion>13.0</SupportedQBXMLVersion>"
    "<SupportedQBXMLVersion>16.0</SupportedQBXMLVersion>"
    "</HostRet></HostQueryRs>"
    '<CompanyQueryRs statusCode="0" statusSeverity="Info" statusMessage="Status OK"><CompanyRet>'
    "<CompanyName>Rock Castle Construction</CompanyName></CompanyRet></CompanyQueryRs>"
)
