"""counter payments (how each was taken), the counter's cash drawer, and each terminal's kind

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02 02:47:27.123819

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('drawer_entry',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('terminal_id', sa.Integer(), nullable=False),
    sa.Column('staff_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('amount_fen', sa.Integer(), nullable=False),
    sa.Column('order_id', sa.Integer(), nullable=True),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.CheckConstraint("kind IN ('float', 'refund', 'sale')", name=op.f('ck_drawer_entry_kind')),
    sa.CheckConstraint('amount_fen != 0', name=op.f('ck_drawer_entry_amount')),
    sa.ForeignKeyConstraint(['order_id'], ['payment_order.id'], name=op.f('fk_drawer_entry_order_id_payment_order')),
    sa.ForeignKeyConstraint(['staff_id'], ['staff_user.id'], name=op.f('fk_drawer_entry_staff_id_staff_user')),
    sa.ForeignKeyConstraint(['terminal_id'], ['terminal.id'], name=op.f('fk_drawer_entry_terminal_id_terminal')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_drawer_entry'))
    )
    with op.batch_alter_table('drawer_entry', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_drawer_entry_terminal_id'), ['terminal_id'], unique=False)

    op.create_table('counter_payment',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('attempt_id', sa.Integer(), nullable=False),
    sa.Column('method', sa.String(length=20), nullable=False),
    sa.Column('tendered_fen', sa.Integer(), nullable=True),
    sa.Column('change_fen', sa.Integer(), nullable=True),
    sa.Column('reference', sa.String(length=32), nullable=True),
    sa.Column('card_masked', sa.String(length=20), nullable=True),
    sa.Column('staff_id', sa.Integer(), nullable=False),
    sa.Column('terminal_id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.CheckConstraint("method != 'cash' OR (tendered_fen IS NOT NULL AND change_fen >= 0)", name=op.f('ck_counter_payment_cash')),
    sa.CheckConstraint("method = 'cash' OR reference IS NOT NULL", name=op.f('ck_counter_payment_reference')),
    sa.CheckConstraint("method IN ('cash', 'pos_card', 'ss_card')", name=op.f('ck_counter_payment_method')),
    sa.ForeignKeyConstraint(['attempt_id'], ['payment_attempt.id'], name=op.f('fk_counter_payment_attempt_id_payment_attempt')),
    sa.ForeignKeyConstraint(['staff_id'], ['staff_user.id'], name=op.f('fk_counter_payment_staff_id_staff_user')),
    sa.ForeignKeyConstraint(['terminal_id'], ['terminal.id'], name=op.f('fk_counter_payment_terminal_id_terminal')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_counter_payment')),
    sa.UniqueConstraint('attempt_id', name=op.f('uq_counter_payment_attempt_id'))
    )
    with op.batch_alter_table('payment_order', schema=None) as batch_op:
        batch_op.add_column(sa.Column('staff_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_payment_order_staff_id'), ['staff_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_payment_order_staff_id_staff_user'), 'staff_user', ['staff_id'], ['id'])

    with op.batch_alter_table('terminal', schema=None) as batch_op:
        batch_op.add_column(sa.Column('kind', sa.String(length=20), server_default='bureau_kiosk', nullable=False))
        batch_op.create_check_constraint(op.f('ck_terminal_kind'), "kind IN ('bank_kiosk', 'bureau_kiosk', 'counter')")



def downgrade():
    with op.batch_alter_table('terminal', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_terminal_kind'), type_='check')
        batch_op.drop_column('kind')

    with op.batch_alter_table('payment_order', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_payment_order_staff_id_staff_user'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_payment_order_staff_id'))
        batch_op.drop_column('staff_id')

    op.drop_table('counter_payment')
    with op.batch_alter_table('drawer_entry', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_drawer_entry_terminal_id'))

    op.drop_table('drawer_entry')
