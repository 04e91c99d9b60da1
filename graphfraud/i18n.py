"""Every user-facing text in Chinese (the default) and English.

The language is chosen by ``set_lang`` (the CLI's ``--lang``) or the ``GRAPHFRAUD_LANG``
environment variable; texts are looked up with ``t(key, **params)``.
"""

from __future__ import annotations

import os

LANGS = ("zh", "en")
_lang: str | None = None

MESSAGES: dict[str, dict[str, str]] = {
    # errors
    "error_prefix": {"zh": "错误", "en": "Error"},
    "mapping_missing": {"zh": "找不到映射文件 {path}", "en": "mapping file {path} not found"},
    "mapping_invalid": {"zh": "映射文件 {path} 有误：{detail}", "en": "mapping file {path} is invalid: {detail}"},
    "dataset_missing": {"zh": "数据目录 {path} 不存在", "en": "dataset folder {path} does not exist"},
    "required_table_missing": {
        "zh": "数据目录 {path} 中缺少必需的表 {table}（应为 {table}.csv、.csv.gz、.parquet 或 .xlsx，或映射中列出的文件名）",
        "en": "dataset folder {path} has no {table} table (expected {table}.csv, .csv.gz, .parquet or .xlsx, or a file name listed in the mapping)",
    },
    "required_column_missing": {
        "zh": "文件 {file} 缺少必需的列 {column}（映射 {mapping}，第 1 行表头：{headers}）",
        "en": "file {file} lacks the required column {column} (mapping {mapping}; header on line 1: {headers})",
    },
    "duplicate_header": {
        "zh": "文件 {file} 第 1 行的表头有重复的列 {column}",
        "en": "file {file} has the column {column} twice in its header on line 1",
    },
    "empty_file": {"zh": "文件 {file} 是空的，没有表头", "en": "file {file} is empty: no header line"},
    "unreadable_file": {"zh": "无法读取文件 {file}：{detail}", "en": "cannot read file {file}: {detail}"},
    "key_mismatch": {
        "zh": "工作区 {workspace} 是用另一把假名化密钥建立的（指纹 {expected}，当前 {actual}）；请使用原密钥（GRAPHFRAUD_KEY 或 --key-file）",
        "en": "workspace {workspace} was built with another pseudonymisation key (fingerprint {expected}, now {actual}); use the original key (GRAPHFRAUD_KEY or --key-file)",
    },
    "key_too_short": {
        "zh": "GRAPHFRAUD_KEY 太短：至少需要 16 个字符",
        "en": "GRAPHFRAUD_KEY is too short: it needs at least 16 characters",
    },
    "key_file_bad": {"zh": "密钥文件 {path} 无效：{detail}", "en": "key file {path} is invalid: {detail}"},
    "workspace_missing": {
        "zh": "工作区 {workspace} 不存在；先运行 graphfraud ingest",
        "en": "workspace {workspace} does not exist; run graphfraud ingest first",
    },
    "out_dir_not_empty": {
        "zh": "输出目录 {path} 非空；换一个目录或加 --force",
        "en": "output folder {path} is not empty; choose another or add --force",
    },
    "bad_option": {"zh": "参数 {option} 无效：{detail}", "en": "option {option} is invalid: {detail}"},
    # progress and reports
    "reading_file": {"zh": "读取 {file}", "en": "reading {file}"},
    "ingest_done": {
        "zh": "导入完成：运行 {run_id}，用时 {seconds:.1f} 秒，工作区 {workspace}",
        "en": "ingest done: run {run_id}, {seconds:.1f} s, workspace {workspace}",
    },
    "ingest_table_line": {
        "zh": "{table:<11} 输入 {input:>10,}  载入 {loaded:>10,}  重复 {duplicate:>8,}  拒绝 {rejected:>8,}",
        "en": "{table:<11} input {input:>10,}  loaded {loaded:>10,}  duplicate {duplicate:>8,}  rejected {rejected:>8,}",
    },
    "ingest_reason_line": {"zh": "    拒绝原因 {reason}：{count:,}", "en": "    rejected for {reason}: {count:,}"},
    "ingest_flag_line": {"zh": "已载入但标记：{flag}：{count:,}", "en": "loaded but flagged: {flag}: {count:,}"},
    "ingest_mapping_line": {
        "zh": "{file}：映射 {mapping}，编码 {encoding}",
        "en": "{file}: mapping {mapping}, encoding {encoding}",
    },
    "ingest_ignored_columns": {
        "zh": "{file}：未知列 {columns} 已作为附加属性保存",
        "en": "{file}: unknown columns {columns} kept as extra properties",
    },
    "ingest_unknown_file": {
        "zh": "忽略无法识别的文件 {file}",
        "en": "ignored {file}: not a table of the data contract",
    },
    "generate_done": {
        "zh": "已生成模拟地区：{patients:,} 名参保人，{claims:,} 条结算，{items:,} 条明细，写入 {out}（真值文件 {truth}），用时 {seconds:.1f} 秒",
        "en": "generated a synthetic region: {patients:,} patients, {claims:,} claims, {items:,} items in {out} (truth file {truth}), {seconds:.1f} s",
    },
    "progress_generate": {"zh": "生成", "en": "generating"},
    "gen_step.patients": {"zh": "参保人", "en": "patients"},
    "gen_step.facilities": {"zh": "定点机构与医师", "en": "facilities and doctors"},
    "gen_step.claims": {"zh": "日常结算", "en": "background claims"},
    "gen_step.planting": {"zh": "预埋团伙与线索", "en": "planting rings and leads"},
    "gen_step.cleaning": {"zh": "清理背景", "en": "cleaning the background"},
    "gen_step.items": {"zh": "费用明细", "en": "items"},
    "gen_step.writing claims": {"zh": "写出结算", "en": "writing claims"},
    "gen_step.writing items": {"zh": "写出明细", "en": "writing items"},
    "demo_step": {"zh": "== {step} ==", "en": "== {step} =="},
    "demo_generate": {"zh": "生成模拟数据", "en": "generating synthetic data"},
    "demo_ingest": {"zh": "导入工作区", "en": "ingesting into the workspace"},
    "demo_done": {
        "zh": "演示完成。工作区：{workspace}；数据：{dataset}；检测结果：{results}",
        "en": "demo finished. Workspace: {workspace}; data: {dataset}; detection results: {results}",
    },
    "status_header": {"zh": "工作区 {workspace}", "en": "workspace {workspace}"},
    "status_table_line": {"zh": "{table:<11} {rows:>12,} 行", "en": "{table:<11} {rows:>12,} rows"},
    "status_runs": {"zh": "导入运行：{runs} 次，最近一次 {last}", "en": "ingest runs: {runs}, latest {last}"},
    "status_detect": {
        "zh": "检测运行：{runs} 次，最近一次 {last}：团伙 {rings} 个（{over} 个达到移送标准），结果在 {out}",
        "en": "detection runs: {runs}, latest {last}: {rings} rings ({over} over the transfer threshold), results in {out}",
    },
    "rejects_header": {
        "zh": "拒绝行（共 {total:,} 行，显示 {shown:,} 行）",
        "en": "rejected rows ({total:,} in all, {shown:,} shown)",
    },
    "rejects_line": {
        "zh": "{file} 第 {line} 行 {column}：{reason_text}",
        "en": "{file} line {line} {column}: {reason_text}",
    },
    # detection
    "no_claims": {"zh": "工作区 {workspace} 中没有结算数据；先运行 graphfraud ingest",
                  "en": "workspace {workspace} holds no claims; run graphfraud ingest first"},
    "settings_missing": {"zh": "找不到参数文件 {path}", "en": "settings file {path} not found"},
    "settings_invalid": {"zh": "参数文件 {path} 中 {setting} 有误：{detail}",
                         "en": "settings file {path}: {setting} is invalid: {detail}"},
    "detect_step": {"zh": "检测 {kind}", "en": "detecting {kind}"},
    "detect_kind_line": {"zh": "{kind:<10} 团伙 {rings:>5,}  （显著配对 {pairs:,}，用时 {seconds:.1f} 秒）",
                         "en": "{kind:<18} rings {rings:>5,}  ({pairs:,} significant pairs, {seconds:.1f} s)"},
    "detect_kind_line_plain": {"zh": "{kind:<10} 团伙 {rings:>5,}  （用时 {seconds:.1f} 秒）",
                               "en": "{kind:<18} rings {rings:>5,}  ({seconds:.1f} s)"},
    "detect_changes": {
        "zh": "与上次相比：新增 {new}，不变 {same}，扩大 {grown}，缩小 {shrunk}，变化 {changed}，消失 {dissolved}",
        "en": "against the previous run: {new} new, {same} same, {grown} grown, {shrunk} shrunk, {changed} changed, "
              "{dissolved} dissolved",
    },
    "detect_top_header": {"zh": "可疑度最高的 {n} 个团伙：", "en": "the {n} most suspicious rings:"},
    "detect_top_columns": {
        "zh": "名次  团伙编号        类型        评分  成员  结算   金额（元）      日期                    移送",
        "en": "rank  ring id         kind             score  memb claims  amount (yuan)   dates                   police",
    },
    "detect_top_line": {
        "zh": "{rank:>4}  {ring_id:<14}  {kind}  {score:>5.1f}  {members:>4}  {claims:>5}  {amount:>14}  {dates:<22}  {over}",
        "en": "{rank:>4}  {ring_id:<14}  {kind}  {score:>5.1f}  {members:>4}  {claims:>5}  {amount:>14}  {dates:<22}  {over}",
    },
    "detect_top_reason": {"zh": "      理由：{text}", "en": "      why: {text}"},
    "detect_done": {
        "zh": "检测完成：运行 {run_id}，团伙 {rings} 个（{over} 个达到移送标准），用时 {seconds:.1f} 秒，结果在 {out}",
        "en": "detection done: run {run_id}, {rings} rings ({over} over the transfer threshold), {seconds:.1f} s, "
              "results in {out}",
    },
    "detect_leads_header": {"zh": "线索 {n} 条（用时 {seconds:.1f} 秒）：", "en": "{n} leads ({seconds:.1f} s):"},
    "detect_leads_line": {"zh": "  {kind} {n:>6,} 条  {amount:>14} 元", "en": "  {kind} {n:>6,}  {amount:>14} yuan"},
    "lead.after_death": {"zh": "死亡后结算", "en": "settled after death"},
    "lead.impossible_travel": {"zh": "不可能的行程", "en": "impossible travel"},
    "lead.used_while_inpatient": {"zh": "住院期间外院结算", "en": "used while inpatient"},
    "lead.overlapping_supply": {"zh": "重复开药超量", "en": "overlapping supply"},
    "lead.split_admission": {"zh": "分解住院", "en": "split admission"},
    "lead.duplicate_claim": {"zh": "重复结算", "en": "duplicate claim"},
    "lead.demographic_mismatch": {"zh": "性别年龄不符", "en": "demographic mismatch"},
    "yes": {"zh": "是", "en": "yes"},
    "no": {"zh": "否", "en": "no"},
    "demo_detect": {"zh": "检测团伙", "en": "detecting rings"},
    "kind.card_collection": {"zh": "聚敛盗刷", "en": "card collection"},
    "kind.cohort_admission": {"zh": "虚假住院", "en": "cohort admission"},
    "kind.drug_resale": {"zh": "药品倒卖", "en": "drug resale"},
    "kind.doctor_pharmacy": {"zh": "医药串通", "en": "doctor-pharmacy"},
    "kind.shared_identity": {"zh": "共用身份", "en": "shared identity"},
    "kind.trace_code_reuse": {"zh": "追溯码重复", "en": "trace-code reuse"},
    "kind.leads": {"zh": "单项线索", "en": "leads"},
    # reject reasons
    "reason.malformed_row": {"zh": "字段数量不对或引号不配对", "en": "wrong number of fields or broken quoting"},
    "reason.bad_encoding": {"zh": "含有不属于该文件编码的字节", "en": "bytes that are not valid text in the file's encoding"},
    "reason.missing_required": {"zh": "必填字段为空", "en": "a required field is empty"},
    "reason.bad_date": {"zh": "日期或时间无法识别", "en": "a date or time that cannot be read"},
    "reason.bad_amount": {"zh": "金额不是最多两位小数的数字", "en": "an amount that is not a number with at most two decimals"},
    "reason.bad_number": {"zh": "数量或数值无法识别", "en": "a quantity or number that cannot be read"},
    "reason.bad_enum": {"zh": "取值不在允许的范围内", "en": "a value outside the allowed set"},
    "reason.bad_region": {"zh": "行政区划代码不是 6 位数字", "en": "an administrative code that is not 6 digits"},
    "reason.bad_date_order": {"zh": "出院日期早于入院日期", "en": "discharge date before admission date"},
    "reason.conflicting_duplicate": {
        "zh": "编号已出现过但内容不同",
        "en": "an id seen before with different content",
    },
    "reason.unknown_patient": {"zh": "参保人编号不存在", "en": "unknown patient id"},
    "reason.unknown_card": {"zh": "医保卡号不存在", "en": "unknown card id"},
    "reason.unknown_facility": {"zh": "定点医药机构编码不存在", "en": "unknown facility id"},
    "reason.unknown_doctor": {"zh": "医师编码不存在", "en": "unknown doctor id"},
    "reason.unknown_claim": {"zh": "结算ID不存在", "en": "unknown claim id"},
    # flags on loaded rows
    "flag.id_number_invalid": {
        "zh": "身份证号校验位错误（GB 11643）",
        "en": "citizen ID number fails the GB 11643 check digit",
    },
    "flag.reversal_unlinked": {"zh": "冲销记录找不到被冲销的结算", "en": "reversal whose cancelled claim is not loaded"},
    "flag.amount_parts_mismatch": {
        "zh": "统筹、个人账户与现金支付之和不等于总额",
        "en": "fund, account and self parts do not add up to the total",
    },
    # views
    "no_detect_run": {"zh": "工作区中还没有检测结果；先运行 graphfraud detect",
                      "en": "the workspace holds no detection run yet; run graphfraud detect first"},
    "case_not_found": {"zh": "检测运行 {run} 中没有团伙或线索 {case}；用 graphfraud report 或 detect 的结果查看编号",
                       "en": "run {run} has no ring or lead {case}; see the ids in graphfraud report or detect's results"},
    "entity_not_found": {"zh": "找不到{type} {entity}（没有相关结算）", "en": "no {type} {entity} (no claims mention it)"},
    "case_title_ring": {"zh": "团伙 {case}（{kind}）", "en": "Ring {case} ({kind})"},
    "case_title_lead": {"zh": "线索 {case}（{kind}）", "en": "Lead {case} ({kind})"},
    "case_title_explore": {"zh": "{type} {entity} 的 {hops} 度关系网", "en": "{hops}-hop neighbourhood of {type} {entity}"},
    "node.patient": {"zh": "参保人", "en": "patient"},
    "node.card": {"zh": "医保卡", "en": "card"},
    "node.doctor": {"zh": "医保医师", "en": "doctor"},
    "node.facility": {"zh": "定点医药机构", "en": "facility"},
    "node.pharmacy": {"zh": "定点零售药店", "en": "pharmacy"},
    "node.terminal": {"zh": "终端", "en": "terminal"},
    "node.drug": {"zh": "药品", "en": "drug"},
    "node.phone": {"zh": "电话", "en": "phone"},
    "node.address": {"zh": "住址", "en": "address"},
    "node.trace_code": {"zh": "追溯码", "en": "trace code"},
    # evidence
    "evidence.run_not_found": {"zh": "工作区中没有检测运行 {run}", "en": "the workspace has no detection run {run}"},
    "evidence.wrong_key": {
        "zh": "密钥打不开工作区 {workspace} 的身份库；请使用导入时的密钥（--key 或 GRAPHFRAUD_KEY）",
        "en": "the key does not open the identity vault of workspace {workspace}; use the key it was ingested with "
              "(--key or GRAPHFRAUD_KEY)",
    },
    "export.done": {
        "zh": "已导出证据包 {case}（{kind}）到 {out}：{files} 个文件，结算 {claims} 笔，总额 {total} 元，统筹支付 {fund} 元，"
              "{first} 至 {last}；达到移送标准：{over}；举报奖励 {reward} 元",
        "en": "exported the evidence package of {case} ({kind}) to {out}: {files} files, {claims} claims, total "
              "{total} yuan, fund-paid {fund} yuan, {first} to {last}; over the transfer threshold: {over}; "
              "whistle-blower reward {reward} yuan",
    },
    "evidence.out_exists": {
        "zh": "{path} 已存在且非空；证据包从不覆盖已有文件，请换一个位置",
        "en": "{path} exists and is not empty; an evidence package never overwrites files, choose another place",
    },
    "export.zip": {"zh": "压缩包：{zip}", "en": "zip: {zip}"},
    "export.revealed": {"zh": "已还原 {n} 人的真实身份（已记入审计日志）",
                        "en": "real identities of {n} people restored (recorded in the audit log)"},
    "export.pseudonymised": {"zh": "身份信息为假名（未使用 --reveal）", "en": "identities are pseudonyms (no --reveal)"},
    "export.audit": {"zh": "审计日志第 {seq} 条，清单哈希 {manifest}", "en": "audit log entry {seq}, manifest hash {manifest}"},
    "verify.not_a_package": {"zh": "{path} 不是证据包（应为文件夹或 zip）",
                             "en": "{path} is not an evidence package (a folder or a zip)"},
    "verify.no_manifest": {"zh": "{path} 中没有 manifest.json", "en": "{path} holds no manifest.json"},
    "verify.bad_manifest": {"zh": "{path} 的 manifest.json 无法读取或缺少文件清单",
                            "en": "the manifest.json of {path} cannot be read or lists no files"},
    "verify.altered": {"zh": "已被修改：{file}（SHA-256 与清单不符）", "en": "altered: {file} (SHA-256 differs from the manifest)"},
    "verify.missing": {"zh": "缺失：{file}（清单中有，包中没有）", "en": "missing: {file} (listed in the manifest, not in the package)"},
    "verify.extra": {"zh": "多出：{file}（包中有，清单中没有）", "en": "extra: {file} (in the package, not in the manifest)"},
    "verify.ok": {"zh": "证据包完好：{case}，{n} 个文件的 SHA-256 全部与清单一致（清单哈希 {manifest}）",
                  "en": "package intact: {case}, the SHA-256 of all {n} files matches the manifest (manifest hash {manifest})"},
    "verify.failed": {"zh": "证据包已被改动：{n} 处问题", "en": "the package was tampered with: {n} problems"},
    "verify.in_audit": {"zh": "清单哈希见于工作区审计日志第 {seq} 条", "en": "the manifest hash is in the workspace audit log, entry {seq}"},
    "verify.not_in_audit": {"zh": "清单哈希不在工作区 {workspace} 的审计日志中：此包不是由该工作区导出，或清单被替换",
                            "en": "the manifest hash is not in the audit log of workspace {workspace}: the package was "
                                  "not exported from it, or its manifest was replaced"},
    "audit.broken": {"zh": "审计日志 {path} 校验失败（{problem}）；先运行 graphfraud audit verify 查明原因",
                     "en": "the audit log {path} does not verify ({problem}); run graphfraud audit verify first"},
    "audit.ok": {"zh": "审计日志完好：{path}，共 {n} 条，哈希链与工作区记录一致",
                 "en": "audit log intact: {path}, {n} entries, the hash chain matches the workspace's record"},
    "audit.failed": {"zh": "审计日志已被改动：{n} 处问题", "en": "the audit log was tampered with: {n} problems"},
    "audit.problem.malformed": {"zh": "第 {line} 行不是有效的审计记录", "en": "line {line} is not a valid audit entry"},
    "audit.problem.edited": {"zh": "第 {line} 行被修改（内容与其哈希不符）",
                             "en": "line {line} was edited (its content does not match its hash)"},
    "audit.problem.sequence": {"zh": "第 {line} 行的序号是 {seq}，应为 {expected}（记录被删除或调换）",
                               "en": "line {line} has sequence number {seq}, expected {expected} (entries removed or reordered)"},
    "audit.problem.chain": {"zh": "第 {line} 行没有接在第 {previous} 行之后（前一哈希不符：记录被删除、插入或调换）",
                            "en": "line {line} does not follow line {previous} (previous hash differs: entries removed, "
                                  "inserted or reordered)"},
    "audit.problem.truncated": {"zh": "第 {line} 行起的记录被删除：工作区记有 {expected} 条，日志中只有 {found} 条",
                                "en": "entries from line {line} on were removed: the workspace recorded {expected}, the "
                                      "log holds {found}"},
    "audit.problem.head": {"zh": "第 {line} 行（最后一条）与工作区记录的最后哈希不符",
                           "en": "line {line} (the last) does not match the last hash the workspace recorded"},
    "audit.problem.unrecorded": {"zh": "第 {line} 行起的记录不是由工作区写入的（工作区记有 {expected} 条，日志中有 {found} 条）",
                                 "en": "entries from line {line} on were not written by the workspace (it recorded "
                                       "{expected}, the log holds {found})"},
    "summary.title": {"zh": "{case}（{kind}）", "en": "{case} ({kind})"},
    "summary.amounts": {"zh": "涉及结算 {claims} 笔，医疗费总额 {total} 元，其中统筹基金支付 {fund} 元。",
                        "en": "{claims} claims, {total} yuan in total, of which the fund paid {fund} yuan."},
    "summary.dates": {"zh": "时间范围：{first} 至 {last}。", "en": "From {first} to {last}."},
    "summary.counts": {"zh": "涉及参保人 {people} 人、医保卡 {cards} 张、定点医药机构 {facilities} 家。",
                       "en": "{people} insured people, {cards} cards and {facilities} facilities are involved."},
    "summary.over": {"zh": "金额达到移送公安标准（{threshold} 元）。",
                     "en": "The amount reaches the threshold for transfer to the police ({threshold} yuan)."},
    "summary.under": {"zh": "金额未达到移送公安标准（{threshold} 元）。",
                      "en": "The amount is below the threshold for transfer to the police ({threshold} yuan)."},
    "summary.reward": {"zh": "按举报奖励标准，对应奖励 {reward} 元。",
                       "en": "Under the whistle-blower reward schedule this implies a reward of {reward} yuan."},
    "page.case": {"zh": "案件", "en": "Case"},
    "page.run": {"zh": "检测运行", "en": "Detection run"},
    "page.total": {"zh": "医疗费总额", "en": "Total amount"},
    "page.fund": {"zh": "统筹基金支付", "en": "Fund-paid"},
    "page.dates": {"zh": "时间范围", "en": "Date range"},
    "page.counts": {"zh": "参保人/医保卡/机构", "en": "People/cards/facilities"},
    "page.threshold": {"zh": "移送公安标准", "en": "Transfer threshold"},
    "page.reward": {"zh": "举报奖励", "en": "Whistle-blower reward"},
    "page.revealed": {"zh": "真实身份", "en": "Real identities"},
    "page.exported": {"zh": "导出时间与操作人", "en": "Exported at, by"},
    "page.hidden": {"zh": "未显示的节点", "en": "Nodes not shown"},
    "page.summary": {"zh": "摘要", "en": "Summary"},
    "page.reasons": {"zh": "可疑理由", "en": "Why it is suspicious"},
    "page.graph": {"zh": "关系图", "en": "Graph"},
    "page.timeline": {"zh": "时间线", "en": "Timeline"},
    "page.daily_amount": {"zh": "每日金额", "en": "amount per day"},
    "page.members": {"zh": "成员与人员", "en": "Members and people"},
    "page.edges": {"zh": "关系及其依据", "en": "Ties and the numbers behind them"},
    "page.claims": {"zh": "结算明细", "en": "Claims"},
}


def set_lang(lang: str | None) -> None:
    """Choose the language of every later message (``zh`` or ``en``)."""
    global _lang
    if lang is not None and lang not in LANGS:
        raise ValueError(f"language must be one of {LANGS}")
    _lang = lang


def get_lang() -> str:
    if _lang:
        return _lang
    env = os.environ.get("GRAPHFRAUD_LANG", "").lower()
    return env if env in LANGS else "zh"


def t(key: str, lang: str | None = None, **params: object) -> str:
    """The text of ``key`` in ``lang`` (default: the current language), formatted."""
    entry = MESSAGES[key]
    return entry[lang or get_lang()].format(**params)
