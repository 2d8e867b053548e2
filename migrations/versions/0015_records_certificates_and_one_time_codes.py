"""payment records, certificates and one-time codes: a phone per person, the proof on a visit, SMS challenges, the sandbox's messages, receipts' verification serials, how terminals print and their print jobs

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-02 06:15:50.534674

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('sandbox_sms',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('phone', sa.String(length=11), nullable=False),
    sa.Column('text', sa.String(length=200), nullable=False),
    sa.Column('sent_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sandbox_sms'))
    )
    op.create_table('certificate',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('verify_serial', sa.String(length=16), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('scheme', sa.String(length=40), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('period_from', sa.Date(), nullable=False),
    sa.Column('period_to', sa.Date(), nullable=False),
    sa.Column('months', sa.Integer(), nullable=False),
    sa.Column('payments', sa.Integer(), nullable=False),
    sa.Column('total_fen', sa.Integer(), nullable=False),
    sa.Column('holder_masked', sa.String(length=100), nullable=False),
    sa.Column('id_masked', sa.String(length=18), nullable=False),
    sa.Column('agency_name', sa.String(length=200), nullable=False),
    sa.Column('terminal_code', sa.String(length=40), nullable=False),
    sa.Column('staff_id', sa.Integer(), nullable=True),
    sa.Column('issued_at', sa.DateTime(), nullable=False),
    sa.Column('print_count', sa.Integer(), nullable=False),
    sa.CheckConstraint('months >= 0 AND payments >= 0 AND total_fen >= 0', name=op.f('ck_certificate_totals')),
    sa.ForeignKeyConstraint(['person_id'], ['insured_person.id'], name=op.f('fk_certificate_person_id_insured_person')),
    sa.ForeignKeyConstraint(['staff_id'], ['staff_user.id'], name=op.f('fk_certificate_staff_id_staff_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_certificate')),
    sa.UniqueConstraint('verify_serial', name=op.f('uq_certificate_verify_serial'))
    )
    with op.batch_alter_table('certificate', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_certificate_person_id'), ['person_id'], unique=False)

    op.create_table('otp_challenge',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('terminal_id', sa.Integer(), nullable=False),
    sa.Column('visit_id', sa.Integer(), nullable=True),
    sa.Column('code_hash', sa.String(length=64), nullable=False),
    sa.Column('sent_at', sa.DateTime(), nullable=False),
    sa.Column('tries', sa.Integer(), nullable=False),
    sa.Column('used_at', sa.DateTime(), nullable=True),
    sa.CheckConstraint('tries >= 0', name=op.f('ck_otp_challenge_tries')),
    sa.ForeignKeyConstraint(['person_id'], ['insured_person.id'], name=op.f('fk_otp_challenge_person_id_insured_person')),
    sa.ForeignKeyConstraint(['terminal_id'], ['terminal.id'], name=op.f('fk_otp_challenge_terminal_id_terminal')),
    sa.ForeignKeyConstraint(['visit_id'], ['visit.id'], name=op.f('fk_otp_challenge_visit_id_visit'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_otp_challenge'))
    )
    with op.batch_alter_table('otp_challenge', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_otp_challenge_person_id'), ['person_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_otp_challenge_terminal_id'), ['terminal_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_otp_challenge_visit_id'), ['visit_id'], unique=False)

    op.create_table('print_job',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('terminal_id', sa.Integer(), nullable=False),
    sa.Column('receipt_id', sa.Integer(), nullable=True),
    sa.Column('certificate_id', sa.Integer(), nullable=True),
    sa.Column('copy', sa.Boolean(), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('printer_status', sa.String(length=20), nullable=True),
    sa.Column('detail', sa.String(length=200), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('finished_at', sa.DateTime(), nullable=True),
    sa.CheckConstraint("status IN ('sending', 'printed', 'failed')", name=op.f('ck_print_job_status')),
    sa.CheckConstraint('(receipt_id IS NULL) <> (certificate_id IS NULL)', name=op.f('ck_print_job_document')),
    sa.ForeignKeyConstraint(['certificate_id'], ['certificate.id'], name=op.f('fk_print_job_certificate_id_certificate')),
    sa.ForeignKeyConstraint(['receipt_id'], ['receipt.id'], name=op.f('fk_print_job_receipt_id_receipt')),
    sa.ForeignKeyConstraint(['terminal_id'], ['terminal.id'], name=op.f('fk_print_job_terminal_id_terminal')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_print_job'))
    )
    with op.batch_alter_table('print_job', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_print_job_receipt_id'), ['receipt_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_print_job_terminal_id'), ['terminal_id'], unique=False)

    # how each terminal prints; an ESC/POS printer may also say its cover is open
    with op.batch_alter_table('terminal', schema=None) as batch_op:
        batch_op.add_column(sa.Column('print_mode', sa.String(length=10), server_default='browser', nullable=False))
        batch_op.add_column(sa.Column('printer_url', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('printer_encoding', sa.String(length=10), server_default='GB18030', nullable=False))
        batch_op.drop_constraint(batch_op.f('ck_terminal_printer_status'), type_='check')
        batch_op.create_check_constraint(op.f('ck_terminal_printer_status'),
                                         "printer_status IN ('cover_open', 'offline', 'ok', 'paper_low', 'paper_out', 'unknown')")
        batch_op.create_check_constraint(op.f('ck_terminal_print_mode'), "print_mode IN ('browser', 'escpos')")
        batch_op.create_check_constraint(op.f('ck_terminal_printer_encoding'), "printer_encoding IN ('GB18030', 'GBK')")

    with op.batch_alter_table('insured_person', schema=None) as batch_op:
        batch_op.add_column(sa.Column('phone', sa.String(length=11), nullable=True))

    with op.batch_alter_table('receipt', schema=None) as batch_op:
        batch_op.add_column(sa.Column('verify_serial', sa.String(length=16), nullable=True))
        batch_op.create_unique_constraint(batch_op.f('uq_receipt_verify_serial'), ['verify_serial'])

    with op.batch_alter_table('visit', schema=None) as batch_op:
        batch_op.add_column(sa.Column('proven_by', sa.String(length=10), nullable=True))



def downgrade():
    with op.batch_alter_table('terminal', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_terminal_printer_encoding'), type_='check')
        batch_op.drop_constraint(batch_op.f('ck_terminal_print_mode'), type_='check')
        batch_op.drop_constraint(batch_op.f('ck_terminal_printer_status'), type_='check')
        batch_op.create_check_constraint(op.f('ck_terminal_printer_status'),
                                         "printer_status IN ('offline', 'ok', 'paper_low', 'paper_out', 'unknown')")
        batch_op.drop_column('printer_encoding')
        batch_op.drop_column('printer_url')
        batch_op.drop_column('print_mode')

    with op.batch_alter_table('print_job', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_print_job_terminal_id'))
        batch_op.drop_index(batch_op.f('ix_print_job_receipt_id'))

    op.drop_table('print_job')

    with op.batch_alter_table('visit', schema=None) as batch_op:
        batch_op.drop_column('proven_by')

    with op.batch_alter_table('receipt', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_receipt_verify_serial'), type_='unique')
        batch_op.drop_column('verify_serial')

    with op.batch_alter_table('insured_person', schema=None) as batch_op:
        batch_op.drop_column('phone')

    with op.batch_alter_table('otp_challenge', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_otp_challenge_visit_id'))
        batch_op.drop_index(batch_op.f('ix_otp_challenge_terminal_id'))
        batch_op.drop_index(batch_op.f('ix_otp_challenge_person_id'))

    op.drop_table('otp_challenge')
    with op.batch_alter_table('certificate', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_certificate_person_id'))

    op.drop_table('certificate')
    op.drop_table('sandbox_sms')
