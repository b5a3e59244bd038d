"""``cchc reissue``: replace the letter that went out with a new one, on purpose and with a reason.

The new letter is drafted from the period's decisions as they are now, says which letter it replaces
("Công văn này thay thế Công văn số 01/UBND-NV ngày …"), takes a new number when issued, and the old
letter becomes "superseded". Where the authority requires approval, ``--approved-by`` records who
approved the draft (as the approval task would); without it the draft waits. Send it with
``cchc distribute`` (or let the letters DAG do both with its ``reissue`` param).
"""

from __future__ import annotations

import argparse
import uuid

from cchc.core import options
from cchc.letter.lifecycle import move


def add_arguments(parser: argparse.ArgumentParser) -> None:
    options.add_scope(parser, authority_required=True, output_dir=True)
    options.add_warehouse_url(parser)
    parser.add_argument("--reason", required=True, help="lý do phát hành lại (ghi vào sổ và vào thư gửi)")
    parser.add_argument(
        "--approved-by", default=None, help="người duyệt bản thảo thay thế, khi cơ quan yêu cầu duyệt"
    )
    parser.add_argument(
        "--run-id", default=None, help="mã lần chạy ghi cùng công văn (mặc định: mã mới mỗi lần)"
    )


def run_from_args(args: argparse.Namespace) -> int:
    from cchc.delivery.issue import issue_with_files
    from cchc.delivery.recipients import distribution_config
    from cchc.letter.drafting import Reissue, draft_letter, pdf_sha
    from cchc.rules.service import recount_after_issue
    from cchc.warehouse.migrate import upgraded_engine

    period = options.period(args)
    [authority] = options.authorities(args)
    output_dir = options.output_dir(args)
    # Every command is its own request: a run id of its own (a DAG run's re-issue is one per run).
    run_id = args.run_id or f"cli-reissue-{uuid.uuid4().hex[:12]}"
    with upgraded_engine(options.warehouse_url(args)) as engine:
        draft = draft_letter(
            engine,
            authority,
            period,
            output_dir,
            run_id=run_id,
            reissue=Reissue(reason=args.reason, actor=args.approved_by or "cchc"),
        )
        assert draft.letter_id is not None
        if draft.outcome == "reused":  # this run id's re-issue went out already: nothing more to do
            print(
                f"{authority.id} kỳ {period}: lần chạy {run_id} đã phát hành lại công văn số "
                f"{draft.document_number} (bản ghi {draft.letter_id}): {draft.pdf}"
            )
            return 0
        print(f"{authority.id} kỳ {period}: bản thảo thay thế (bản ghi {draft.letter_id}): {draft.pdf}")
        if distribution_config(authority).require_approval and draft.status != "approved":
            if not args.approved_by:
                print("  Cơ quan yêu cầu duyệt: chạy lại với --approved-by TÊN sau khi đã duyệt bản thảo.")
                return 2
            move(
                engine,
                draft.letter_id,
                "approved",
                actor=args.approved_by,
                run_id=run_id,
                values={"approved_content_hash": draft.content_hash, "approved_pdf_sha256": pdf_sha(draft)},
                details={"content_hash": draft.content_hash},
            )
        issued = issue_with_files(engine, authority, draft.letter_id, output_dir, run_id=run_id)
        recount_after_issue(engine, authority, output_dir, run_id=run_id)
    print(f"  Đã cấp số {issued.number}/{authority.document_symbol}: {issued.pdf}")
    print(f"  Gửi: cchc distribute --authority {authority.id} --period {period}")
    return 0
