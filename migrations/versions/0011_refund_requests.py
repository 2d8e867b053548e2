"""refunds and voids staff ask for, and a supervisor's decision on each (four eyes)

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02 02:56:18.781537

"""
from alembic import op
import sqlalchemy as sa

# PostgreSQL's own spelling of state IN ('approved', 'requested')
OPEN_PG = "(state)::text = ANY (ARRAY[('approved'::character varying)::text, ('requested'::character varying)::text])"


# revision identifiers, used by Alembic.
revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('refund_request',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('order_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('amount_fen', sa.Integer(), nullable=False),
    sa.Column('reason', sa.String(length=200), nullable=False),
    sa.Column('state', sa.String(length=20), nullable=False),
    sa.Column('requested_by', sa.Integer(), nullable=False),
    sa.Column('requested_at', sa.DateTime(), nullable=False),
    sa.Column('terminal_id', sa.Integer(), nullable=False),
    sa.Column('decided_by', sa.Integer(), nullable=True),
    sa.Column('decided_at', sa.DateTime(), nullable=True),
    sa.Column('refund_id', sa.Integer(), nullable=True),
    sa.CheckConstraint("kind IN ('refund', 'void')", name=op.f('ck_refund_request_kind')),
    sa.CheckConstraint("state IN ('approved', 'done', 'failed', 'rejected', 'requested')", name=op.f('ck_refund_request_state')),
    sa.CheckConstraint('amount_fen > 0', name=op.f('ck_refund_request_amount')),
    sa.CheckConstraint('decided_by IS NULL OR decided_by != requested_by', name=op.f('ck_refund_request_four_eyes')),
    sa.ForeignKeyConstraint(['decided_by'], ['staff_user.id'], name=op.f('fk_refund_request_decided_by_staff_user')),
    sa.ForeignKeyConstraint(['order_id'], ['payment_order.id'], name=op.f('fk_refund_request_order_id_payment_order')),
    sa.ForeignKeyConstraint(['refund_id'], ['refund.id'], name=op.f('fk_refund_request_refund_id_refund')),
    sa.ForeignKeyConstraint(['requested_by'], ['staff_user.id'], name=op.f('fk_refund_request_requested_by_staff_user')),
    sa.ForeignKeyConstraint(['terminal_id'], ['terminal.id'], name=op.f('fk_refund_request_terminal_id_terminal')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_refund_request'))
    )
    with op.batch_alter_table('refund_request', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_refund_request_order_id'), ['order_id'], unique=False)
        batch_op.create_index('uq_refund_request_open', ['order_id'], unique=True, sqlite_where=sa.text("state IN ('approved', 'requested')"), postgresql_where=sa.text(OPEN_PG))



def downgrade():
    with op.batch_alter_table('refund_request', schema=None) as batch_op:
        batch_op.drop_index('uq_refund_request_open', sqlite_where=sa.text("state IN ('approved', 'requested')"), postgresql_where=sa.text(OPEN_PG))
        batch_op.drop_index(batch_op.f('ix_refund_request_order_id'))

    op.drop_table('refund_request')
