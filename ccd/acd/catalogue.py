"""Every user-visible word of the ACD that is not a prompt: API error messages and CLI words,
Chinese first, English second. (What callers hear is in the IVR catalogue, `[prompts.acd]`.)"""

from __future__ import annotations

# API error code -> message, with {placeholders} from the error's details.
ERRORS: dict[str, dict[str, str]] = {
    "acd-not-running": {"zh": "排队分配服务（ACD）未运行", "en": "the ACD is not running"},
    "no-such-queue": {"zh": "没有名为“{queue}”的队列", "en": "no queue named '{queue}'"},
    "no-such-agent": {"zh": "没有座席“{agent}”", "en": "no agent '{agent}'"},
    "not-an-agent": {
        "zh": "“{agent}”不是启用的座席用户（需要 agent 角色）",
        "en": "'{agent}' is not an enabled user with the agent role",
    },
    "no-such-station": {"zh": "没有名为“{station}”的座席电话", "en": "no station named '{station}'"},
    "no-such-call": {"zh": "没有通话“{call_id}”", "en": "no call '{call_id}'"},
    "station-in-use": {
        "zh": "座席电话“{station}”已由“{agent}”使用",
        "en": "station '{station}' is in use by '{agent}'",
    },
    "bad-agent-transition": {
        "zh": "当前状态（{state}）下不能执行“{request}”",
        "en": "cannot {request} while {state}",
    },
    "agent-not-available": {
        "zh": "座席“{agent}”当前不是就绪状态", "en": "agent '{agent}' is not ready",
    },
    "answer-on-phone": {
        "zh": "请在话机上接听（以 answer=console 签入才能在界面上接听）",
        "en": "answer on the phone (log in with answer='console' to answer here)",
    },
    "agent-not-on-call": {"zh": "座席“{agent}”当前没有通话", "en": "agent '{agent}' is not on a call"},
    "supervisor-unreachable": {
        "zh": "班长话机 {uri} 未接听（{cause}）", "en": "the team lead's phone {uri} did not answer ({cause})",
    },
    "no-outbound-route": {
        "zh": "未配置外呼线路（acd.outbound_uri）", "en": "dialling out is not configured (acd.outbound_uri)",
    },
    "bad-number": {"zh": "号码格式错误：{number}", "en": "not a phone number: {number}"},
    "bad-name": {
        "zh": "{kind}名称“{name}”不合法：只能用小写字母、数字、_ 和 -，最长 32 个字符",
        "en": "bad {kind} name '{name}': lower-case letters, digits, _ and -, at most 32",
    },
    "bad-uri": {"zh": "不是 SIP 地址：{uri}", "en": "not a SIP URI: {uri}"},
    "bad-queue": {"zh": "队列“{queue}”的设置有误", "en": "queue '{queue}' has a bad setting"},
    "queue-exists": {"zh": "队列“{queue}”已存在", "en": "queue '{queue}' already exists"},
    "queue-in-use": {
        "zh": "队列“{used_by}”会溢出到“{queue}”，请先修改它",
        "en": "queue '{used_by}' overflows to '{queue}': change it first",
    },
    "station-exists": {"zh": "座席电话“{station}”已存在", "en": "station '{station}' already exists"},
    "wrap-up-required": {
        "zh": "队列“{queue}”要求先为本次通话（{call_id}）填写话后处理代码，才能接下一个电话",
        "en": "queue '{queue}' requires a wrap-up code for call {call_id} before the next call",
    },
    "no-spy": {"zh": "您当前没有在监听任何通话", "en": "you are not listening to any call"},
}

# CLI words.
CLI: dict[str, dict[str, str]] = {
    "queue_added": {"zh": "已添加队列 {name}", "en": "added queue {name}"},
    "queue_changed": {"zh": "已修改队列 {name}", "en": "changed queue {name}"},
    "queue_removed": {"zh": "已删除队列 {name}", "en": "removed queue {name}"},
    "restart_needed": {
        "zh": "（运行中的 ACD 重启后生效）", "en": "(the running ACD applies it after a restart)",
    },
    "station_added": {"zh": "已添加座席电话 {name}", "en": "added station {name}"},
    "station_removed": {"zh": "已删除座席电话 {name}", "en": "removed station {name}"},
    "offline": {
        "zh": "守护进程未运行：直接修改数据库", "en": "the daemon is not running: writing the database directly",
    },
    "agent_prompt": {"zh": "座席> ", "en": "agent> "},
    "agent_help": {
        "zh": "命令：login 电话 | logout | ready | notready 原因 | state | answer | hangup | hold |"
        " unhold | transfer 目标 | consult 座席 | consult-end | conference | dial 号码 |"
        " wrapup 代码 [备注] | events | quit",
        "en": "commands: login STATION | logout | ready | notready REASON | state | answer |"
        " hangup | hold | unhold | transfer TARGET | consult AGENT | consult-end | conference |"
        " dial NUMBER | wrapup CODE [NOTE] | events | quit",
    },
    "unknown_command": {"zh": "未知命令：{command}（help 查看帮助）", "en": "unknown command: {command} (try help)"},
    "col_queue": {"zh": "队列", "en": "queue"},
    "col_display": {"zh": "名称", "en": "name"},
    "col_strategy": {"zh": "分配策略", "en": "strategy"},
    "col_skills": {"zh": "技能要求", "en": "skills"},
    "col_wrap": {"zh": "话后处理", "en": "wrap-up"},
    "col_sl": {"zh": "服务水平", "en": "service level"},
    "col_ring": {"zh": "振铃时限", "en": "ring"},
    "col_overflow": {"zh": "溢出", "en": "overflow"},
    "col_source": {"zh": "定义于", "en": "defined in"},
    "no_queues": {"zh": "没有队列", "en": "no queues"},
    "wrap_code_needed": {"zh": "+须填代码", "en": "+code"},
    "strategy_longest_idle": {"zh": "最长空闲", "en": "longest idle"},
    "strategy_fewest_calls": {"zh": "最少接听", "en": "fewest calls"},
    "strategy_best_skill": {"zh": "最高技能", "en": "best skill"},
    "strategy_round_robin": {"zh": "轮流", "en": "round robin"},
    "strategy_ring_all": {"zh": "同时振铃", "en": "ring all"},
    "source_db": {"zh": "数据库", "en": "database"},
    "source_config": {"zh": "ccd.toml", "en": "ccd.toml"},
    "needs_argument": {"zh": "{command} 缺少参数，用法：{usage}", "en": "{command} needs more: {usage}"},
}
