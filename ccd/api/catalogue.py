"""What the socket API says to people: error messages by error code, Chinese first, English second.

Replies carry a machine-readable `code` and `details`; the `message` beside them is rendered from
this table in the session's language (the user's `language`, or `site.language` before login), so
the CLI and the TUIs can print it as it is. A code missing here falls back to the exception's own
message. Placeholders are filled from the error's details; a missing one stays as `{name}`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

MESSAGES: dict[str, dict[str, str]] = {
    # The peer sent something we cannot read.
    "bad-request": {
        "zh": "请求格式错误：{reason}",
        "en": "malformed request: {reason}",
    },
    "bad-params": {
        "zh": "“{method}”的参数错误：{reason}",
        "en": "bad parameters for '{method}': {reason}",
    },
    "unknown-method": {
        "zh": "没有名为“{method}”的方法",
        "en": "no method named '{method}'",
    },
    # Who may do what.
    "login-required": {
        "zh": "请先登录（login 或 login_peer），再调用“{method}”",
        "en": "log in first (login or login_peer) before calling '{method}'",
    },
    "forbidden": {
        "zh": "无权调用“{method}”：需要角色 {required}，当前角色 {roles}",
        "en": "not allowed to call '{method}': it needs one of the roles {required}, you have {roles}",
    },
    "login-failed": {
        "zh": "用户名或密码错误，或该用户已停用",
        "en": "wrong user name or password, or the user is disabled",
    },
    "peer-refused": {
        "zh": "本地用户（uid {uid}）不能免密登录：需要是 root、守护进程同一用户或“{group}”组成员",
        "en": "local user (uid {uid}) may not log in without a password: it must be root, the "
        "daemon's own user or a member of group '{group}'",
    },
    "already-logged-in": {
        "zh": "本连接已以“{username}”登录；请先 logout",
        "en": "this connection is already logged in as '{username}'; log out first",
    },
    "too-many-failures": {
        "zh": "登录失败次数过多（{failures} 次），连接已关闭",
        "en": "too many failed logins ({failures}); connection closed",
    },
    "wrong-password": {
        "zh": "原密码不正确",
        "en": "the old password is wrong",
    },
    # Limits.
    "login-timeout": {
        "zh": "未在 {seconds} 秒内登录，连接已关闭",
        "en": "no login within {seconds} s; connection closed",
    },
    "idle-timeout": {
        "zh": "连接空闲超过 {seconds} 秒，已关闭",
        "en": "connection idle for more than {seconds} s; closed",
    },
    "line-too-long": {
        "zh": "请求行超过 {limit} 字节，连接已关闭",
        "en": "request line longer than {limit} bytes; connection closed",
    },
    "rate-limited": {
        "zh": "请求过于频繁（每秒 {rate} 次，突发 {burst} 次），请稍后再试",
        "en": "too many requests ({rate} per second, bursts of {burst}); try again shortly",
    },
    "flood": {
        "zh": "持续超出请求速率限制，连接已关闭",
        "en": "request rate limit exceeded repeatedly; connection closed",
    },
    "unknown-topic": {
        "zh": "没有名为“{topic}”的事件主题",
        "en": "no event topic named '{topic}'",
    },
    "forbidden-topic": {
        "zh": "无权订阅“{topic}”：需要角色 {roles}",
        "en": "not allowed to subscribe to '{topic}': it needs one of the roles {roles}",
    },
    "login-throttled": {
        "zh": "登录失败次数过多，请 {retry_after_s} 秒后再试",
        "en": "too many failed logins: try again in {retry_after_s} s",
    },
    "too-many-sessions": {
        "zh": "该用户同时登录的会话已达上限（{limit}）",
        "en": "this user already has the most sessions allowed ({limit})",
    },
    "database-busy": {
        "zh": "数据库正被其他程序占用，本次操作未保存，请稍后重试",
        "en": "the database is locked by another process; nothing was saved, try again",
    },
    "too-many-connections": {
        "zh": "连接数已达上限（{limit}），请稍后再试",
        "en": "the server has reached its connection limit ({limit}); try again later",
    },
    "slow-consumer": {
        "zh": "事件接收过慢，订阅缓冲区已满，连接已关闭",
        "en": "events were not read fast enough and the buffer filled; connection closed",
    },
    "bad-topic": {
        "zh": "主题名无效：{topic}",
        "en": "invalid topic name: {topic}",
    },
    "too-many-topics": {
        "zh": "每个连接最多订阅 {limit} 个主题",
        "en": "at most {limit} topics per connection",
    },
    "user-disabled": {
        "zh": "用户“{username}”已被停用，连接已关闭",
        "en": "user '{username}' has been disabled; connection closed",
    },
    "no-roles": {
        "zh": "用户“{username}”没有任何角色，连接已关闭",
        "en": "user '{username}' no longer has any role; connection closed",
    },
    "internal": {
        "zh": "服务器内部错误（参考号 {ref}），已记入日志",
        "en": "internal server error (reference {ref}); it has been logged",
    },
    # Users (db/users.py).
    "user-exists": {
        "zh": "用户“{username}”已存在",
        "en": "user '{username}' already exists",
    },
    "no-such-user": {
        "zh": "没有用户“{username}”",
        "en": "no user '{username}'",
    },
    "bad-username": {
        "zh": "用户名“{username}”无效：只能用字母、数字和 _ . @ -，最长 64 个字符",
        "en": "bad user name '{username}': use letters, digits and _ . @ -, at most 64",
    },
    "agent-number-taken": {
        "zh": "工号“{agent_number}”已被占用",
        "en": "agent number '{agent_number}' is already taken",
    },
    "unknown-role": {
        "zh": "未知角色“{role}”（可用：{known}）",
        "en": "unknown role '{role}' (known: {known})",
    },
    "weak-password": {
        "zh": "密码至少需要 {min_length} 个字符",
        "en": "the password needs at least {min_length} characters",
    },
    "bad-password": {
        "zh": "密码过长（最多 {max_length} 个字符）",
        "en": "the password is too long (at most {max_length} characters)",
    },
    "cannot-disable-self": {
        "zh": "不能停用当前登录的用户自己",
        "en": "you cannot disable the user you are logged in as",
    },
    # The agent console's pick lists ([console] in ccd.toml).
    "unknown-reason": {
        "zh": "没有示忙原因“{reason}”（可选：{valid}）",
        "en": "'{reason}' is not a not-ready reason (choose from: {valid})",
    },
    "unknown-disposition": {
        "zh": "没有处理结果代码“{code}”（可选：{valid}）",
        "en": "'{code}' is not a disposition code (choose from: {valid})",
    },
    # Task list: callbacks and satisfaction surveys (ccd/api/methods/tasks.py).
    "no-such-task": {
        "zh": "没有编号为 {id} 的任务（{kind}）",
        "en": "no {kind} task {id}",
    },
    "task-done": {
        "zh": "任务 {id}（{kind}）已处理（{status}），不能再次提交",
        "en": "{kind} task {id} has already been dealt with ({status})",
    },
    "unknown-question": {
        "zh": "回访问卷中没有问题“{question}”（现有：{known}）",
        "en": "the survey has no question '{question}' (it has: {known})",
    },
    "bad-answer": {
        "zh": "问题“{question}”的回答“{value}”无效（可选：{allowed}）",
        "en": "'{value}' is not an answer to question '{question}' (one of: {allowed})",
    },
    "answer-too-long": {
        "zh": "问题“{question}”的回答过长（最多 {max_length} 个字符）",
        "en": "the answer to question '{question}' is too long (at most {max_length} characters)",
    },
    "answer-missing": {
        "zh": "回访已答时，以下问题必须作答：{questions}",
        "en": "an answered survey needs answers to: {questions}",
    },
    # Client side.
    "connection-closed": {
        "zh": "与 ccd 守护进程的连接已断开",
        "en": "the connection to the ccd daemon was closed",
    },
    "protocol-error": {
        "zh": "守护进程的应答无法解析：{reason}",
        "en": "cannot understand the daemon's reply: {reason}",
    },
}

# Appended to any message whose details carry a non-empty `did_you_mean` list.
def register(table: Mapping[str, dict[str, str]]) -> None:
    """Add a feature's error messages (its own catalogue) so replies render them too."""
    for code, texts in table.items():
        if code in MESSAGES and MESSAGES[code] != texts:
            raise ValueError(f"error code {code!r} is declared twice with different texts")
        MESSAGES[code] = texts


DID_YOU_MEAN = {"zh": "；是否要用“{names}”？", "en": "; did you mean '{names}'?"}

LANGUAGES = ("zh", "en")


class _Keep(dict):  # type: ignore[type-arg]
    """format_map helper: unknown placeholders stay visible instead of raising."""

    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def _show(value: Any) -> str:
    if isinstance(value, (list, tuple, set, frozenset)):
        return ", ".join(str(v) for v in sorted(value, key=str)) or "-"
    return str(value)


def render(code: str, language: str, details: Mapping[str, Any], fallback: str) -> str:
    """The message for error `code` in `language` ('zh' or 'en').

    code: the machine-readable error id. language: the reader's language; unknown ones get Chinese.
    details: values for the placeholders. fallback: used when the catalogue has no entry.
    """
    entry = MESSAGES.get(code)
    if entry is None:
        return fallback
    language = language if language in LANGUAGES else "zh"
    values = _Keep({k: _show(v) for k, v in details.items()})
    text = entry[language].format_map(values)
    if details.get("did_you_mean"):
        text += DID_YOU_MEAN[language].format(names=_show(details["did_you_mean"]))
    return text
