"""employer (unit) arrears, instalment agreements signed with the employer or its successor, their instalments

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-02 03:25:23.016956

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('employer',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=18), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('region_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['region_id'], ['region.id'], name=op.f('fk_employer_region_id_region')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_employer')),
    sa.UniqueConstraint('code', name=op.f('uq_employer_code'))
    )
    op.create_table('employer_arrear',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('employer_id', sa.Integer(), nullable=False),
    sa.Column('scheme', sa.String(length=40), nullable=False),
    sa.Column('period', sa.Date(), nullable=False),
    sa.Column('principal_fen', sa.Integer(), nullable=False),
    sa.Column('due_date', sa.Date(), nullable=False),
    sa.Column('agreed_on', sa.Date(), nullable=True),
    sa.CheckConstraint('principal_fen > 0', name=op.f('ck_employer_arrear_principal')),
    sa.ForeignKeyConstraint(['employer_id'], ['employer.id'], name=op.f('fk_employer_arrear_employer_id_employer')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_employer_arrear')),
    sa.UniqueConstraint('employer_id', 'scheme', 'period', name='uq_employer_arrear_period')
    )
    with op.batch_alter_table('employer_arrear', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_employer_arrear_employer_id'), ['employer_id'], unique=False)

    op.create_table('instalment_agreement',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('employer_id', sa.Integer(), nullable=False),
    sa.Column('batch', sa.String(length=32), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('counterparty', sa.String(length=200), nullable=False),
    sa.Column('principal_fen', sa.Integer(), nullable=False),
    sa.Column('late_fee_fen', sa.Integer(), nullable=False),
    sa.Column('debt_fen', sa.Integer(), nullable=False),
    sa.Column('signed_on', sa.Date(), nullable=False),
    sa.Column('state', sa.String(length=20), nullable=False),
    sa.Column('proposed_by', sa.Integer(), nullable=False),
    sa.Column('proposed_at', sa.DateTime(), nullable=False),
    sa.Column('decided_by', sa.Integer(), nullable=True),
    sa.Column('decided_at', sa.DateTime(), nullable=True),
    sa.CheckConstraint("kind IN ('auction', 'bankruptcy', 'employer', 'merger', 'split')", name=op.f('ck_instalment_agreement_kind')),
    sa.CheckConstraint("state IN ('active', 'completed', 'proposed', 'rejected')", name=op.f('ck_instalment_agreement_state')),
    sa.CheckConstraint('debt_fen = principal_fen + late_fee_fen AND debt_fen > 0', name=op.f('ck_instalment_agreement_debt')),
    sa.CheckConstraint('decided_by IS NULL OR decided_by != proposed_by', name=op.f('ck_instalment_agreement_four_eyes')),
    sa.ForeignKeyConstraint(['decided_by'], ['staff_user.id'], name=op.f('fk_instalment_agreement_decided_by_staff_user')),
    sa.ForeignKeyConstraint(['employer_id'], ['employer.id'], name=op.f('fk_instalment_agreement_employer_id_employer')),
    sa.ForeignKeyConstraint(['proposed_by'], ['staff_user.id'], name=op.f('fk_instalment_agreement_proposed_by_staff_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_instalment_agreement'))
    )
    with op.batch_alter_table('instalment_agreement', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_instalment_agreement_batch'), ['batch'], unique=False)
        batch_op.create_index(batch_op.f('ix_instalment_agreement_employer_id'), ['employer_id'], unique=False)

    op.create_table('instalment',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('agreement_id', sa.Integer(), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('due_date', sa.Date(), nullable=False),
    sa.Column('amount_fen', sa.Integer(), nullable=False),
    sa.Column('paid_at', sa.DateTime(), nullable=True),
    sa.Column('late_fee_paid_fen', sa.Integer(), nullable=True),
    sa.Column('method', sa.String(length=20), nullable=True),
    sa.Column('reference', sa.String(length=32), nullable=True),
    sa.Column('staff_id', sa.Integer(), nullable=True),
    sa.Column('terminal_id', sa.Integer(), nullable=True),
    sa.CheckConstraint('(paid_at IS NULL) = (method IS NULL)', name=op.f('ck_instalment_paid_how')),
    sa.CheckConstraint('amount_fen > 0', name=op.f('ck_instalment_amount')),
    sa.ForeignKeyConstraint(['agreement_id'], ['instalment_agreement.id'], name=op.f('fk_instalment_agreement_id_instalment_agreement')),
    sa.ForeignKeyConstraint(['staff_id'], ['staff_user.id'], name=op.f('fk_instalment_staff_id_staff_user')),
    sa.ForeignKeyConstraint(['terminal_id'], ['terminal.id'], name=op.f('fk_instalment_terminal_id_terminal')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_instalment')),
    sa.UniqueConstraint('agreement_id', 'number', name='uq_instalment_number')
    )
    with op.batch_alter_table('instalment', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_instalment_agreement_id'), ['agreement_id'], unique=False)



def downgrade():
    with op.batch_alter_table('instalment', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_instalment_agreement_id'))

    op.drop_table('instalment')
    with op.batch_alter_table('instalment_agreement', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_instalment_agreement_employer_id'))
        batch_op.drop_index(batch_op.f('ix_instalment_agreement_batch'))

    op.drop_table('instalment_agreement')
    with op.batch_alter_table('employer_arrear', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_employer_arrear_employer_id'))

    op.drop_table('employer_arrear')
    op.drop_table('employer')
