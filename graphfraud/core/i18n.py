"""The user-facing texts in Chinese (the default) and English: messages, page labels, the
names of reject reasons and lead kinds.

Three kinds of text live with what they describe, each in both languages: a ring detector's
name and reason templates in its ``Detector`` declaration (registered here when the detectors
load, ``register_texts``), the lead rules' reason templates in ``detect/leads.py`` and
``detect/lead_score.py``, and node and tie names in ``viz/styles.toml``. The language is chosen
by ``set_lang`` (the CLI's ``--lang``) or the ``GRAPHFRAUD_LANG`` environment variable; texts
are looked up with ``t(key, **params)``.
"""

from __future__ import annotations

import os

LANGS = ("zh", "en")
_lang: str | None = None

MESSAGES: dict[str, dict[str, str]] = {
    # errors
    "usage.usage": {"zh": "用法：", "en": "Usage:"},
    "usage.try_help": {"zh": "运行 '{command} --help' 查看帮助。", "en": "Try '{command} --help' for help."},
    "usage.aborted": {"zh": "已中止。", "en": "Aborted!"},
    "usage.no_option": {"zh": "没有这个选项：{name}", "en": "no such option: {name}"},
    "usage.did_you_mean": {"zh": "（是不是要用 {hint}？）", "en": " (did you mean {hint}?)"},
    "usage.no_command": {"zh": "没有这个命令：{name}", "en": "no such command: {name}"},
    "usage.missing_argument": {"zh": "缺少参数 {name}", "en": "missing argument {name}"},
    "usage.missing_option": {"zh": "缺少选项 {name}", "en": "missing option {name}"},
    "usage.needs_value": {"zh": "选项 {name} 需要一个值", "en": "option {name} needs a value"},
    "usage.extra_argument": {"zh": "多余的参数：{name}", "en": "unexpected extra argument: {name}"},
    "usage.invalid_value": {"zh": "{name} 的值无效：{detail}", "en": "invalid value for {name}: {detail}"},
    "usage.detail.missing_path": {"zh": "{path} 不存在", "en": "{path} does not exist"},
    "usage.detail.not_a_choice": {"zh": "{value} 不是可选值（{choices}）之一", "en": "{value} is not one of {choices}"},
    "usage.detail.not_an_integer": {"zh": "{value} 不是整数", "en": "{value} is not an integer"},
    "usage.detail.not_a_number": {"zh": "{value} 不是数字", "en": "{value} is not a number"},
    "usage.detail.out_of_range": {"zh": "{value} 不在范围 {range} 内", "en": "{value} is not in the range {range}"},
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
    "unreadable.xlsx": {"zh": "不是有效的 xlsx 工作簿（xlsx 是 zip 压缩包）：{detail}",
                        "en": "not a valid xlsx workbook (an xlsx is a zip archive): {detail}"},
    "unreadable.gzip": {"zh": "gzip 压缩数据损坏或不完整：{detail}",
                        "en": "the gzip data is corrupt or incomplete: {detail}"},
    "unreadable.parquet": {"zh": "不是有效或完整的 Parquet 文件：{detail}",
                           "en": "not a valid or complete Parquet file: {detail}"},
    "unreadable.parquet_row": {"zh": "读到第 {row} 行后中断：{detail}", "en": "broke off after row {row}: {detail}"},
    "ingest_retry_careful": {
        "zh": "{file}：快速读取器无法读取（{cause}），改用逐行读取重新导入",
        "en": "{file}: the fast reader could not read it ({cause}); ingesting again, reading it line by line",
    },
    "ingest_decoded_lines": {
        "zh": "{file}：{count} 行不是 {encoding} 编码，已按 {other} 解码（第 {lines} 行）",
        "en": "{file}: lines not in {encoding}, decoded as {other}: {count} (line {lines})",
    },
    "ingest_line_ends": {
        "zh": "{file}：行尾混用（{crlf} 行以 CRLF 结尾，其余以 LF 结尾），均已正确读取",
        "en": "{file}: mixed line ends ({crlf} lines end in CRLF, the rest in LF), all read",
    },
    "ingest_lone_cr": {
        "zh": "{file}：行内有 {count} 个不在行尾的回车符（CR），已按空格读取",
        "en": "{file}: carriage returns (CR) inside lines, read as spaces: {count}",
    },
    "ingest_cr_line_ends": {
        "zh": "{file}：以回车符（CR）作为行尾（旧式 Mac 格式），已按行读取",
        "en": "{file}: lines end in CR (old Mac style); read line by line",
    },
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
    "ingest_cascade_line": {
        "zh": "    其中 {rows:,} 行（{reason}）是连带拒绝：它们引用的 {because_of} 记录在本次导入中被拒绝",
        "en": "    of which {rows:,} ({reason}) follow from this run's rejects in {because_of}: the rows they refer to "
              "were rejected",
    },
    "ingest_over_reject_rate": {
        "zh": "拒绝比例超过上限 {limit}：{tables}。已载入的数据已保存；请查看拒绝记录（graphfraud rejects），"
              "或用 --max-reject-rate 调整上限",
        "en": "reject rate above the limit of {limit}: {tables}. What loaded is kept; see the rejects "
              "(graphfraud rejects), or set --max-reject-rate",
    },
    "ingest_rate_item": {"zh": "{table} {rate}（{rejected:,}/{input:,}）", "en": "{table} {rate} ({rejected:,} of {input:,})"},
    "ingest_flag_line": {"zh": "已载入但标记：{flag}：{count:,}", "en": "loaded but flagged: {flag}: {count:,}"},
    "ingest_mapping_line": {
        "zh": "{file}：映射 {mapping}，编码 {encoding}",
        "en": "{file}: mapping {mapping}, encoding {encoding}",
    },
    "ingest_ignored_columns": {
        "zh": "{file}：映射未声明的列未导入（不保存其中任何值）：{columns}",
        "en": "{file}: columns the mapping does not declare, dropped (none of their values stored): {columns}",
    },
    "ingest_extra_columns": {
        "zh": "{file}：按映射声明保存的附加列：{columns}",
        "en": "{file}: extra columns kept as the mapping declares: {columns}",
    },
    "extra_personal": {"zh": "个人信息，已假名化", "en": "personal, pseudonymised"},
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
    "workspace_busy": {
        "zh": "工作区 {workspace} 正被另一个命令使用（{command}，进程 {pid}，始于 {since}）；待其结束后重试",
        "en": "workspace {workspace} is in use by another command ({command}, process {pid}, since {since}); "
              "try again when it has finished",
    },
    "workspace_open_elsewhere": {
        "zh": "工作区 {workspace} 正被另一个进程打开（如查询或工作台）；关闭后重试",
        "en": "workspace {workspace} is open in another process (a query or a workbench, say); "
              "try again when it has closed",
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
    "detect_leads_header": {"zh": "线索 {n} 条（用时 {seconds:.1f} 秒），疑点清单收录 {queued} 条，其余 {rest} 条评分较低，留在工作区：",
                            "en": "{n} leads ({seconds:.1f} s), {queued} in the work queue; the other {rest} score low "
                                  "and stay in the workspace:"},
    "detect_leads_line": {"zh": "  {kind} {n:>6,} 条  收录 {queued:>5,}  {amount:>14} 元",
                          "en": "  {kind} {n:>6,}  queued {queued:>5,}  {amount:>14} yuan"},
    "detect_top_leads_header": {"zh": "疑点清单前 {n} 条：", "en": "the first {n} leads of the work queue:"},
    "detect_top_leads_columns": {
        "zh": "名次  线索编号          类型                  评分   金额（元）      卡号",
        "en": "rank  lead id           kind                  score  amount (yuan)   card",
    },
    "detect_top_lead_line": {
        "zh": "{rank:>4}  {lead_id:<16}  {kind}  {score:>5.1f}  {amount:>14}  {card}",
        "en": "{rank:>4}  {lead_id:<16}  {kind}  {score:>5.1f}  {amount:>14}  {card}",
    },
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
    "kind.leads": {"zh": "单项线索", "en": "leads"},
    # reject reasons
    "reason.malformed_row": {"zh": "字段数量不对或引号不配对", "en": "wrong number of fields or broken quoting"},
    "reason.unclosed_quote": {"zh": "引号未闭合（此行被拒绝，从下一行继续读取）",
                              "en": "a quote left open (this line rejected; reading resumed at the next line)"},
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
    "flag.id_number_missing": {"zh": "未提供身份证号（选填，仅计数，不算错误）",
                               "en": "no citizen ID number given (optional: counted, not an error)"},
    "flag.reversal_unlinked": {"zh": "冲销记录找不到被冲销的结算", "en": "reversal whose cancelled claim is not loaded"},
    "flag.amount_parts_mismatch": {
        "zh": "统筹、个人账户与现金支付之和不等于总额",
        "en": "fund, account and self parts do not add up to the total",
    },
    # views
    "no_detect_run": {"zh": "工作区（或 Neo4j 图）中还没有检测结果；先运行 graphfraud detect",
                      "en": "the workspace (or Neo4j graph) holds no detection run yet; run graphfraud detect first"},
    "run_not_found": {"zh": "没有检测运行 {run}；不加 --run 即看最近一次", "en": "there is no detection run {run}; "
                      "leave out --run for the latest"},
    "case_not_found": {"zh": "检测运行 {run} 中没有团伙或线索 {case}；用 graphfraud report 或 detect 的结果查看编号",
                       "en": "run {run} has no ring or lead {case}; see the ids in graphfraud report or detect's results"},
    "entity_not_found": {"zh": "找不到{type} {entity}（没有相关结算）", "en": "no {type} {entity} (no claims mention it)"},
    "case_title_ring": {"zh": "团伙 {case}（{kind}）", "en": "Ring {case} ({kind})"},
    "case_title_lead": {"zh": "线索 {case}（{kind}）", "en": "Lead {case} ({kind})"},
    "case_title_explore": {"zh": "{type} {entity} 的 {hops} 度关系网", "en": "{hops}-hop neighbourhood of {type} {entity}"},
    "viz_extra_missing": {"zh": "绘图需要 pyvis：pip install 'graphfraud[viz]'",
                          "en": "drawing needs pyvis: pip install 'graphfraud[viz]'"},
    "tip.member": {"zh": "团伙成员（{role}）", "en": "member ({role})"},
    "tip.claims": {"zh": "结算 {n} 笔，{amount} 元", "en": "{n} claims, {amount} yuan"},
    "tip.fund": {"zh": "其中统筹基金支付 {fund} 元", "en": "of which the fund paid {fund} yuan"},
    "tip.range": {"zh": "{first} 至 {last}", "en": "{first} to {last}"},
    "tip.days": {"zh": "{n} 个不同日期，{first} 至 {last}", "en": "{n} distinct days, {first} to {last}"},
    "attr.name": {"zh": "名称", "en": "name"},
    "attr.facility_type": {"zh": "机构类型", "en": "type"},
    "attr.level": {"zh": "等级", "en": "level"},
    "attr.region_code": {"zh": "所在行政区划", "en": "region"},
    "attr.sex": {"zh": "性别", "en": "sex"},
    "attr.age": {"zh": "年龄", "en": "age"},
    "attr.birth_date": {"zh": "出生日期", "en": "born"},
    "attr.death_date": {"zh": "死亡日期", "en": "died"},
    "attr.insured_region": {"zh": "参保地", "en": "insured in"},
    "attr.insurance_type": {"zh": "险种", "en": "insurance"},
    "attr.card_type": {"zh": "卡类型", "en": "card type"},
    "attr.issued_at": {"zh": "发卡日期", "en": "issued"},
    "attr.patient_id": {"zh": "持卡人", "en": "holder"},
    "attr.department": {"zh": "科室", "en": "department"},
    "attr.facility_id": {"zh": "执业机构", "en": "works at"},
    "attr.facilities": {"zh": "使用机构", "en": "used at"},
    "sex.M": {"zh": "男", "en": "male"},
    "sex.F": {"zh": "女", "en": "female"},
    "ftype.hospital": {"zh": "医院", "en": "hospital"},
    "ftype.clinic": {"zh": "诊所", "en": "clinic"},
    "ftype.pharmacy": {"zh": "药店", "en": "pharmacy"},
    "itype.employee": {"zh": "职工", "en": "employee"},
    "itype.resident": {"zh": "居民", "en": "resident"},
    "ctype.ssc": {"zh": "社保卡", "en": "social-security card"},
    "ctype.evoucher": {"zh": "电子凭证", "en": "e-voucher"},
    "claim_type.outpatient": {"zh": "门诊", "en": "outpatient"},
    "claim_type.inpatient": {"zh": "住院", "en": "inpatient"},
    "claim_type.pharmacy": {"zh": "药店购药", "en": "pharmacy"},
    "status.new": {"zh": "新发现", "en": "new"},
    "status.same": {"zh": "与上次相同", "en": "same as last run"},
    "status.grown": {"zh": "扩大", "en": "grown"},
    "status.shrunk": {"zh": "缩小", "en": "shrunk"},
    "status.changed": {"zh": "有变化", "en": "changed"},
    "page.back": {"zh": "返回报告首页", "en": "back to the report"},
    "page.reasons": {"zh": "可疑理由", "en": "Why it is suspicious"},
    "page.graph": {"zh": "关系图", "en": "Network"},
    "page.graph_note": {"zh": "{nodes} 个节点，{edges} 条关系；可拖动、缩放，鼠标悬停查看详情。",
                        "en": "{nodes} nodes, {edges} ties; drag, zoom and hover for details."},
    "page.hidden": {"zh": "另有 {n} 个次要节点超出上限未显示。", "en": "{n} less important nodes beyond the cap are not shown."},
    "page.legend": {"zh": "图例", "en": "Legend"},
    "page.member_legend": {"zh": "粗黑边框：团伙成员", "en": "thick dark border: member"},
    "page.size_note": {"zh": "节点大小表示金额，连线粗细表示结算笔数。",
                       "en": "Node size shows the amount, edge width the number of claims."},
    "page.members": {"zh": "成员", "en": "Members"},
    "page.timeline": {"zh": "结算时间线", "en": "Timeline of the claims"},
    "page.timeline_note": {"zh": "每日结算金额（元）；悬停查看当日笔数与金额，冲销记为负数。",
                           "en": "Amount settled per day (yuan); hover for the day's claims; reversals count as negative."},
    "page.bar": {"zh": "{day}：{n} 笔，{amount} 元", "en": "{day}: {n} claims, {amount} yuan"},
    "page.bar_week": {"zh": "{day} 起一周：{n} 笔，{amount} 元", "en": "week of {day}: {n} claims, {amount} yuan"},
    "page.claims_table": {"zh": "结算明细", "en": "Claims"},
    "page.totals": {"zh": "合计：结算 {n} 笔，金额 {amount} 元，其中统筹基金支付 {fund} 元",
                    "en": "Total: {n} claims, {amount} yuan, of which the fund paid {fund} yuan"},
    "page.total_row": {"zh": "合计", "en": "Total"},
    "page.generated": {"zh": "graphfraud {version} 生成于 {time}；检测运行 {run}",
                       "en": "made by graphfraud {version} at {time}; detection run {run}"},
    "page.privacy": {"zh": "个人信息仅以假名显示（电话 ph_…、住址 ad_…），不含姓名和身份证号。",
                     "en": "Personal data appears only as pseudonyms (phones ph_…, addresses ad_…); no names or citizen ID numbers."},
    "page.col.kind": {"zh": "类型", "en": "kind"},
    "page.col.score": {"zh": "评分", "en": "score"},
    "page.col.rank": {"zh": "名次", "en": "rank"},
    "page.col.members": {"zh": "成员", "en": "members"},
    "page.col.status": {"zh": "与上次相比", "en": "against last run"},
    "page.col.entity": {"zh": "对象", "en": "entity"},
    "page.col.hops": {"zh": "度数", "en": "hops"},
    "page.col.claims": {"zh": "结算笔数", "en": "claims"},
    "page.col.amount": {"zh": "金额（元）", "en": "amount (yuan)"},
    "page.col.fund": {"zh": "统筹基金（元）", "en": "fund (yuan)"},
    "page.col.account": {"zh": "个人账户（元）", "en": "personal account (yuan)"},
    "page.col.self": {"zh": "个人自付（元）", "en": "self-paid (yuan)"},
    "page.col.dates": {"zh": "日期", "en": "dates"},
    "page.col.over": {"zh": "达到移送标准", "en": "over transfer threshold"},
    "page.col.reward": {"zh": "对应举报奖励（元）", "en": "implied reporter reward (yuan)"},
    "page.col.type": {"zh": "类别", "en": "type"},
    "page.col.id": {"zh": "编号", "en": "id"},
    "page.col.role": {"zh": "角色", "en": "role"},
    "page.col.claim_id": {"zh": "结算ID", "en": "claim id"},
    "page.col.settled_at": {"zh": "结算时间", "en": "settled at"},
    "page.col.card": {"zh": "医保卡号", "en": "card"},
    "page.col.facility": {"zh": "机构", "en": "facility"},
    "page.col.doctor": {"zh": "医师", "en": "doctor"},
    "page.col.terminal": {"zh": "终端", "en": "terminal"},
    "page.col.claim_type": {"zh": "结算类别", "en": "type"},
    "page.col.diagnosis": {"zh": "诊断", "en": "diagnosis"},
    "page.col.ring_id": {"zh": "团伙编号", "en": "ring id"},
    "page.col.reasons": {"zh": "理由", "en": "reasons"},
    "page.col.lead_id": {"zh": "线索编号", "en": "lead id"},
    "page.col.text": {"zh": "说明", "en": "description"},
    "page.col.queue_rank": {"zh": "疑点清单名次", "en": "place in the work queue"},
    "page.col.lead_reasons": {"zh": "评分理由", "en": "why this score"},
    "page.not_queued": {"zh": "未收录（评分低，留在工作区）", "en": "not queued (low score, kept in the workspace)"},
    "page.leads_not_queued": {"zh": "另有 {n} 条线索评分较低，未收录，保存在工作区中。",
                              "en": "{n} more leads score low: not queued, kept in the workspace."},
    "page.col.days_with_seeds": {"zh": "与种子卡相遇天数", "en": "days met seeds"},
    "page.col.expected": {"zh": "偶然应有", "en": "expected by chance"},
    "page.col.seeds_met": {"zh": "相遇的种子卡数", "en": "seeds met"},
    "page.col.path": {"zh": "关联路径", "en": "path"},
    "page.expand_table": {"zh": "与种子卡模式相同的其他卡", "en": "Other cards sharing the seeds' pattern"},
    "page.index_title": {"zh": "医保基金欺诈团伙与线索报告", "en": "Medical-insurance fraud rings and leads"},
    "page.rings": {"zh": "团伙", "en": "Rings"},
    "page.leads": {"zh": "单项线索", "en": "Leads"},
    "page.filter_placeholder": {"zh": "筛选：编号、成员、理由……", "en": "filter: id, member, reason…"},
    "page.all_kinds": {"zh": "全部类型", "en": "all kinds"},
    "page.over_only": {"zh": "只看达到移送标准的", "en": "over the transfer threshold only"},
    "page.shown": {"zh": "显示", "en": "shown"},
    "page.run": {"zh": "检测运行 {run}（{finished}）", "en": "detection run {run} ({finished})"},
    "page.summary_rings": {"zh": "团伙", "en": "rings"},
    "page.summary_over": {"zh": "达到移送标准", "en": "over the threshold"},
    "page.summary_amount": {"zh": "团伙涉及金额（元，每笔结算只计一次）", "en": "amount in rings (yuan, each claim once)"},
    "page.summary_leads": {"zh": "单项线索", "en": "leads"},
    "page.no_page": {"zh": "（未生成页面）", "en": "(no page)"},
    "expand_no_seeds": {"zh": "种子文件中没有卡号", "en": "the seed file holds no card ids"},
    "expand_seeds_unknown": {"zh": "种子卡 {seeds} 都没有有效结算", "en": "none of the seed cards ({seeds}) has a claim that stands"},
    "expand.path": {"zh": "种子卡 {seed} → {place_type} {place}（{days} 天在数分钟内相继结算）",
                    "en": "seed {seed} → {place_type} {place} (settled minutes apart on {days} days)"},
    "expand.title": {"zh": "从 {n} 张种子卡扩展", "en": "Expansion from {n} seed cards"},
    "expand_header": {"zh": "种子卡 {found} 张（{missing} 张无结算），途经药店与终端 {places} 个，找到 {n} 张关联卡：",
                      "en": "{found} seed cards ({missing} without claims), {places} pharmacies and terminals, {n} related cards:"},
    "expand_columns": {"zh": "名次  医保卡号          显著性  相遇天数  偶然应有  种子数  关联路径",
                       "en": "rank  card              signif.  days  expected  seeds  path"},
    "expand_line": {"zh": "{rank:>4}  {card:<16}  {sig:>6.1f}  {days:>8}  {expected:>8.2f}  {seeds:>6}  {path}",
                    "en": "{rank:>4}  {card:<16}  {sig:>7.1f}  {days:>4}  {expected:>8.2f}  {seeds:>5}  {path}"},
    "expand_missing": {"zh": "无有效结算的种子卡：{seeds}", "en": "seed cards without a claim that stands: {seeds}"},
    "written": {"zh": "已写出 {path}", "en": "wrote {path}"},
    "case_done": {"zh": "已写出 {path}：{nodes} 个节点，{edges} 条关系，{claims} 笔结算，{amount} 元{hidden}",
                  "en": "wrote {path}: {nodes} nodes, {edges} ties, {claims} claims, {amount} yuan{hidden}"},
    "case_hidden": {"zh": "（{n} 个次要节点超出上限未显示）", "en": " ({n} less important nodes beyond the cap not shown)"},
    "report_done": {"zh": "报告已写出：{rings} 个团伙页面，{leads} 个线索页面，用时 {seconds:.1f} 秒。用浏览器打开 {index}",
                    "en": "report written: {rings} ring pages, {leads} lead pages, {seconds:.1f} s. Open {index} in a browser"},
    "demo_report": {"zh": "编写报告网站", "en": "writing the report site"},
    "demo_open": {"zh": "用浏览器打开报告：{index}", "en": "open the report in a browser: {index}"},
    "role.explored": {"zh": "查看对象", "en": "explored"},
    # the detectors' member roles (ring_members.role keeps the English text of the contract)
    "role.collected card": {"zh": "被聚敛的卡", "en": "collected card"},
    "role.collector pharmacy": {"zh": "聚敛药店", "en": "collector pharmacy"},
    "role.terminal": {"zh": "结算终端", "en": "terminal"},
    "role.admitted card": {"zh": "住院的卡", "en": "admitted card"},
    "role.admitting facility": {"zh": "收治机构", "en": "admitting facility"},
    "role.attending doctor": {"zh": "主治医师", "en": "attending doctor"},
    "role.shared phone": {"zh": "共用电话", "en": "shared phone"},
    "role.shared address": {"zh": "共用地址", "en": "shared address"},
    "role.shared phone (hub)": {"zh": "共用电话（聚集点）", "en": "shared phone (hub)"},
    "role.shared address (hub)": {"zh": "共用地址（聚集点）", "en": "shared address (hub)"},
    "role.phone holder": {"zh": "电话登记人", "en": "phone holder"},
    "role.address holder": {"zh": "地址登记人", "en": "address holder"},
    "role.prescribing doctor": {"zh": "开方医师", "en": "prescribing doctor"},
    "role.partner pharmacy": {"zh": "合作药店", "en": "partner pharmacy"},
    "role.top card": {"zh": "主要取药卡", "en": "top card"},
    "role.excess-supply card": {"zh": "超量购药卡", "en": "excess-supply card"},
    "role.dispensing pharmacy": {"zh": "售药药店", "en": "dispensing pharmacy"},
    "role.key drug": {"zh": "重点药品", "en": "key drug"},
    "role.card": {"zh": "医保卡", "en": "card"},
    "role.pharmacy": {"zh": "药店", "en": "pharmacy"},
    "role.recycling pharmacy": {"zh": "回流药品的药店", "en": "recycling pharmacy"},
    "role.card with a returned box": {"zh": "药盒回流的卡", "en": "card with a returned box"},
    "role.card that received a recycled box": {"zh": "买到回流药盒的卡", "en": "card that received a recycled box"},
    "role.card with a returned box and a recycled one": {"zh": "药盒回流、又买到回流药盒的卡",
                                                         "en": "card with a returned box and a recycled one"},
    "role.first-sale pharmacy": {"zh": "首次售出药盒的药店", "en": "first-sale pharmacy"},
    "role.reused drug": {"zh": "追溯码重复的药品", "en": "reused drug"},
    "role.seed": {"zh": "种子卡", "en": "seed"},
    "page.col.seeds": {"zh": "种子卡", "en": "seed cards"},
    # evidence
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
    "verify.failed": {"zh": "证据包未通过核验：{n} 处问题", "en": "the package failed verification: {n} problems"},
    "verify.in_audit": {"zh": "清单哈希见于工作区审计日志第 {seq} 条", "en": "the manifest hash is in the workspace audit log, entry {seq}"},
    "verify.not_in_audit": {"zh": "清单哈希不在工作区 {workspace} 的审计日志中：此包不是由该工作区导出，或清单被替换",
                            "en": "the manifest hash is not in the audit log of workspace {workspace}: the package was "
                                  "not exported from it, or its manifest was replaced"},
    "verify.bad_zip": {"zh": "{path} 不是完好的 zip 证据包（{cause}）：文件已损坏或被截断",
                       "en": "{path} is not an intact zip package ({cause}): the file is damaged or truncated"},
    "verify.bad_member": {"zh": "{path} 中的 {file} 无法读取（{cause}）：zip 已损坏",
                          "en": "{file} in {path} cannot be read ({cause}): the zip is damaged"},
    "verify.duplicate": {"zh": "重复：{file} 在 zip 中出现不止一次（可能夹带了篡改的副本）",
                         "en": "duplicate: {file} is stored more than once in the zip (a tampered copy may hide there)"},
    "verify.unsafe": {"zh": "异常成员：{file}（路径指向证据包之外）",
                      "en": "unexpected member: {file} (its path points outside the package)"},
    "verify.signature_missing": {"zh": "未签名：包中没有 {file}，无法证明来源与完整性",
                                 "en": "unsigned: the package holds no {file}; neither origin nor integrity can be proved"},
    "verify.signature_malformed": {"zh": "签名文件 {file} 无法读取（已损坏或被改动）",
                                   "en": "the signature file {file} cannot be read (damaged or edited)"},
    "verify.signature_invalid": {"zh": "签名无效：manifest.json 在签名后被改动（签名密钥指纹 {fingerprint}）",
                                 "en": "invalid signature: manifest.json changed after it was signed (key {fingerprint})"},
    "verify.untrusted": {"zh": "来源不符：签名密钥 {fingerprint} 不是所给的局方公钥",
                         "en": "wrong origin: the package was signed by key {fingerprint}, not by the public key given"},
    "verify.origin_unchecked": {"zh": "签名完好（密钥指纹 {fingerprint}），但未核对来源：请用 --public-key 指定局方公钥",
                                "en": "the signature is intact (key {fingerprint}) but its origin was not checked: "
                                      "give the bureau's public key with --public-key"},
    "verify.origin": {"zh": "签名有效，来自所信任的局方密钥 {fingerprint}",
                      "en": "the signature is valid and made by the trusted key {fingerprint}"},
    "verify.zip_signature_malformed": {"zh": "zip 的签名文件 {file} 无法读取", "en": "the zip's signature file {file} cannot be read"},
    "verify.zip_signature_invalid": {"zh": "zip 文件在签名后被改动（{file} 与之不符）",
                                     "en": "the zip file changed after it was signed ({file} does not match it)"},
    "verify.zip_unsigned": {"zh": "旁边没有 zip 的签名文件 {file}：已逐一核验包内文件",
                            "en": "no detached signature {file} beside the zip: the files inside were checked one by one"},
    "verify.audit_cut": {"zh": "工作区 {workspace} 的审计日志只有 {n} 条，而此包记为第 {seq} 条：日志被删减",
                         "en": "the audit log of {workspace} holds {n} entries but this package is entry {seq}: the log was cut"},
    "verify.audit_seq": {"zh": "清单哈希记在审计日志第 {seq} 条，而此包记为第 {expected} 条",
                         "en": "the manifest hash is in audit entry {seq}, but the package says entry {expected}"},
    "verify.zip_not_in_audit": {"zh": "zip 的 SHA-256 与审计日志第 {seq} 条所记不符",
                                "en": "the zip's SHA-256 differs from the one audit entry {seq} recorded"},
    "audit.no_key": {"zh": "没有用来核验签名的公钥：用 --public-key 指定局方公钥，或在本机运行 graphfraud keys init",
                     "en": "no key to check the signatures with: give the bureau's public key with --public-key, "
                           "or run graphfraud keys init on this machine"},
    "audit.problem.signature_unsigned": {"zh": "第 {line} 行没有签名", "en": "line {line} is not signed"},
    "audit.problem.signature_untrusted": {"zh": "第 {line} 行由其他密钥签名（{signer}…），不是所信任的局方密钥",
                                          "en": "line {line} is signed by another key ({signer}…), not a trusted key of the bureau"},
    "audit.problem.signature_invalid": {"zh": "第 {line} 行的签名无效（记录在签名后被改动并重算了哈希）",
                                        "en": "line {line} has an invalid signature (edited and re-hashed after it was signed)"},
    "signing.no_key": {"zh": "没有签名密钥 {path}：先运行 graphfraud keys init 生成局方签名密钥（证据包必须签名）",
                       "en": "no signing key at {path}: run graphfraud keys init to create the bureau's key "
                             "(evidence packages must be signed)"},
    "signing.key_exists": {"zh": "签名密钥 {path} 已存在；要替换请加 --force（此前签名的证据包只能用旧公钥核验）",
                           "en": "the signing key {path} exists; add --force to replace it (packages signed before "
                                 "can then be checked only with the old public key)"},
    "signing.key_mode": {"zh": "签名密钥 {path} 的权限 {mode} 允许他人读取；运行 chmod 600",
                         "en": "the signing key {path} has mode {mode}, which lets others read it; run chmod 600"},
    "signing.passphrase": {"zh": "签名密钥 {path} 已加密：用环境变量 {env} 给出正确的口令",
                           "en": "the signing key {path} is encrypted: give its passphrase in {env}"},
    "signing.key_bad": {"zh": "{path} 不是 Ed25519 签名私钥（{detail}）", "en": "{path} is not an Ed25519 signing key ({detail})"},
    "signing.public_bad": {"zh": "{path} 不是 Ed25519 公钥文件（{detail}）",
                           "en": "{path} is not an Ed25519 public key file ({detail})"},
    "signing.public_is_private": {"zh": "{path} 是私钥，不是公钥：请用 graphfraud keys export-public 导出公钥再分发",
                                  "en": "{path} is a private key, not a public one: give recipients the output of "
                                        "graphfraud keys export-public"},
    "signing.bad_fingerprint": {"zh": "指纹 {value} 无效：应为至少 32 位十六进制数字",
                                "en": "fingerprint {value} is invalid: give at least 32 hex digits"},
    "keys.created": {"zh": "已生成签名密钥 {path}（仅本人可读），指纹 {fingerprint}；请备份，并用 graphfraud keys "
                           "export-public 把公钥交给证据接收方",
                     "en": "created the signing key {path} (readable by you only), fingerprint {fingerprint}; back it "
                           "up, and give recipients the public key from graphfraud keys export-public"},
    "keys.exported": {"zh": "公钥已写入 {path}，指纹 {fingerprint}", "en": "public key written to {path}, fingerprint {fingerprint}"},
    "keys.fingerprint": {"zh": "指纹 {fingerprint}（完整：{full}）", "en": "fingerprint {fingerprint} (in full: {full})"},
    "export.signed": {"zh": "已用局方密钥 {fingerprint} 签名", "en": "signed with the bureau's key {fingerprint}"},
    "audit.broken": {"zh": "审计日志 {path} 校验失败（{problem}）；先运行 graphfraud audit verify 查明原因",
                     "en": "the audit log {path} does not verify ({problem}); run graphfraud audit verify first"},
    "audit.ok": {"zh": "审计日志完好：{path}，共 {n} 条，哈希链、局方签名与工作区记录一致",
                 "en": "audit log intact: {path}, {n} entries; the hash chain, the bureau's signatures and the "
                       "workspace's record agree"},
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
    "summary.amounts": {"zh": "涉及结算 {claims} 笔，医疗费总额 {total} 元，其中统筹基金支付 {fund} 元、"
                              "个人账户支付 {account} 元、个人自付 {own} 元。",
                        "en": "{claims} claims, {total} yuan in total, of which the fund paid {fund} yuan, the personal "
                              "account {account} yuan and the holders themselves {own} yuan."},
    "summary.dates": {"zh": "时间范围：{first} 至 {last}。", "en": "From {first} to {last}."},
    "summary.counts": {"zh": "涉及参保人 {people} 人、医保卡 {cards} 张、定点医药机构 {facilities} 家。",
                       "en": "Involved: insured people {people}, cards {cards}, facilities {facilities}."},
    "summary.over": {"zh": "金额达到移送公安标准（{threshold} 元）。",
                     "en": "The amount reaches the threshold for transfer to the police ({threshold} yuan)."},
    "summary.under": {"zh": "金额未达到移送公安标准（{threshold} 元）。",
                      "en": "The amount is below the threshold for transfer to the police ({threshold} yuan)."},
    "summary.reward": {"zh": "按举报奖励标准，对应奖励 {reward} 元。",
                       "en": "Under the whistle-blower reward schedule this implies a reward of {reward} yuan."},
    "evidence.page.case": {"zh": "案件", "en": "Case"},
    "evidence.page.run": {"zh": "检测运行", "en": "Detection run"},
    "evidence.page.total": {"zh": "医疗费总额", "en": "Total amount"},
    "evidence.page.fund": {"zh": "统筹基金支付", "en": "Fund-paid"},
    "evidence.page.account": {"zh": "个人账户支付", "en": "Paid from the personal account"},
    "evidence.page.self": {"zh": "个人自付", "en": "Self-paid"},
    "evidence.page.dates": {"zh": "时间范围", "en": "Date range"},
    "evidence.page.counts": {"zh": "参保人/医保卡/机构", "en": "People/cards/facilities"},
    "evidence.page.threshold": {"zh": "移送公安标准", "en": "Transfer threshold"},
    "evidence.page.reward": {"zh": "举报奖励", "en": "Whistle-blower reward"},
    "evidence.page.revealed": {"zh": "真实身份", "en": "Real identities"},
    "evidence.page.exported": {"zh": "导出时间与操作人", "en": "Exported at, by"},
    "evidence.page.hidden": {"zh": "未显示的节点", "en": "Nodes not shown"},
    "evidence.page.summary": {"zh": "摘要", "en": "Summary"},
    "evidence.page.reasons": {"zh": "可疑理由", "en": "Why it is suspicious"},
    "evidence.page.graph": {"zh": "关系图", "en": "Graph"},
    "evidence.page.timeline": {"zh": "时间线", "en": "Timeline"},
    "evidence.page.members": {"zh": "成员与人员", "en": "Members and people"},
    "evidence.page.edges": {"zh": "关系及其依据", "en": "Ties and the numbers behind them"},
    "evidence.page.claims": {"zh": "结算明细", "en": "Claims"},
    # neo4j
    "neo4j_uri_missing": {
        "zh": "没有指定 Neo4j 地址：请用 --neo4j bolt://主机:7687，或设置环境变量 NEO4J_URI",
        "en": "no Neo4j address: give --neo4j bolt://HOST:7687 or set NEO4J_URI",
    },
    "neo4j_auth": {
        "zh": "Neo4j {uri} 拒绝了用户名或密码；请检查 --neo4j-user/--neo4j-password 或 NEO4J_USERNAME/NEO4J_PASSWORD",
        "en": "Neo4j at {uri} refused the user name or password; check --neo4j-user/--neo4j-password or NEO4J_USERNAME/NEO4J_PASSWORD",
    },
    "neo4j_unreachable": {
        "zh": "无法连接 Neo4j {uri}（{detail}）；请确认服务已启动（docker compose up -d）且地址正确",
        "en": "cannot reach Neo4j at {uri} ({detail}); check that it is running (docker compose up -d) and the address is right",
    },
    "query_unknown": {"zh": "查询库中没有 {name}；可用：{names}", "en": "no query {name} in the library; available: {names}"},
    "query_param_unknown": {
        "zh": "查询 {name} 没有参数 {params}；它的参数是：{expected}",
        "en": "query {name} has no parameter {params}; its parameters are: {expected}",
    },
    "query_param_missing": {
        "zh": "查询 {name} 需要参数 {param}：请加 --param {param}=值",
        "en": "query {name} needs the parameter {param}: add --param {param}=VALUE",
    },
    "bulk_import_failed": {
        "zh": "导入失败：{detail}。可以手动运行：{command}",
        "en": "the import failed: {detail}. You can run it by hand: {command}",
    },
    "progress_load": {"zh": "载入 Neo4j", "en": "loading into Neo4j"},
    "load_resumed": {
        "zh": "继续上次中断的载入：已提交的批次跳过",
        "en": "resuming an interrupted load: batches already committed are skipped",
    },
    "load_table_line": {
        "zh": "{table} 写入 {rows:,} 行，新建节点 {nodes:,}、关系 {rels:,}，续传跳过 {skipped} 批，每秒 {rate} 行",
        "en": "{table} {rows:,} rows written, {nodes:,} nodes and {rels:,} relationships created, {skipped} batches resumed, {rate} rows/s",
    },
    "load_done": {
        "zh": "载入完成：{rows:,} 行写入 {uri}，用时 {seconds} 秒（每秒 {rate} 行、{rels_rate} 条新关系）；汇总边 {agg} 秒",
        "en": "load done: {rows:,} rows into {uri} in {seconds} s ({rate} rows/s, {rels_rate} new relationships/s); aggregated edges {agg} s",
    },
    "bulk_written": {
        "zh": "已写出导入文件：{nodes:,} 个节点、{rels:,} 条关系，目录 {dir}，用时 {seconds} 秒",
        "en": "wrote import files: {nodes:,} nodes and {rels:,} relationships in {dir}, {seconds} s",
    },
    "bulk_command": {
        "zh": "在停止的 Neo4j 上运行下面的命令导入（会替换该数据库），再运行 graphfraud load --neo4j 建约束与汇总边"
              "（核数少的机器上设 JAVA_OPTS='{jvm}' 可省下 JIT 编译的时间）：\n{command}",
        "en": "run this on the stopped Neo4j to import (the database is replaced), then graphfraud load --neo4j for "
              "constraints and aggregated edges (on a machine with few cores, JAVA_OPTS='{jvm}' saves JIT compile "
              "time):\n{command}",
    },
    "bulk_imported": {
        "zh": "已导入 {records:,} 条记录到 {home}，用时 {seconds} 秒（每秒 {rate} 条）",
        "en": "imported {records:,} records into {home} in {seconds} s ({rate} records/s)",
    },
    "detect_neo4j_written": {
        "zh": "{rings} 个团伙与 {leads} 条线索已写回 {uri}（Ring、Lead 节点）",
        "en": "{rings} rings and {leads} leads written back into {uri} (Ring and Lead nodes)",
    },
    "query_list_line": {"zh": "{name}：{summary}（参数：{params}）", "en": "{name}: {summary} (parameters: {params})"},
    "query_rows": {"zh": "共 {n} 行，显示 {shown} 行", "en": "{n} rows, {shown} shown"},
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


def register_texts(texts: dict[str, dict[str, str]]) -> None:
    """Add texts declared elsewhere (a detector's name): each key with a zh and an en text. A
    key already here must keep its text: two modules may not say different things."""
    for key, entry in texts.items():
        if set(entry) != {"zh", "en"}:
            raise ValueError(f"text {key!r} needs exactly a zh and an en version")
        if key in MESSAGES and MESSAGES[key] != entry:
            raise ValueError(f"text {key!r} is already {MESSAGES[key]!r}")
        MESSAGES[key] = dict(entry)


def t(key: str, lang: str | None = None, **params: object) -> str:
    """The text of ``key`` in ``lang`` (default: the current language), formatted."""
    entry = MESSAGES[key]
    return entry[lang or get_lang()].format(**params)
